"""Batch jobs: the Spring Batch model, restartable from the last committed chunk.

```python
from rota import batch

@app.batch
def import_orders(path: str) -> batch.Flow:
    return batch.Flow([
        batch.tasklet("prepare", prepare),
        batch.chunk("load", reader=batch.CsvReader(path), processor=parse, writer=save, size=100),
    ])
```
"""

from rota.batch.context import ItemStream, StepContext, TransactionalWriter
from rota.batch.flow import END, FAIL, Chunk, Flow, Step, Tasklet, chunk, tasklet
from rota.batch.model import COMPLETED, FAILED, STOPPED, BatchExecution, BatchState, StepExecution
from rota.batch.readers import CsvReader, IterableReader, JsonLinesReader, SqlReader
from rota.batch.writers import CsvWriter, JsonLinesWriter, SqlWriter

__all__ = [
    "COMPLETED",
    "END",
    "FAIL",
    "FAILED",
    "STOPPED",
    "BatchExecution",
    "BatchState",
    "Chunk",
    "CsvReader",
    "CsvWriter",
    "Flow",
    "ItemStream",
    "IterableReader",
    "JsonLinesReader",
    "JsonLinesWriter",
    "SqlReader",
    "SqlWriter",
    "Step",
    "StepContext",
    "StepExecution",
    "Tasklet",
    "TransactionalWriter",
    "chunk",
    "tasklet",
]
