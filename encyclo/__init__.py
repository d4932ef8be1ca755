"""encyclo: an encyclopedia of deep-learning techniques whose every page runs.

```python
from encyclo import get, create, entry, entries
mixup = get("mixup")                         # the implementation object itself
r50 = create("resnet50", attention="cbam")   # an architecture with a block in its attention slot
entry("cbam").paper.arxiv                    # metadata; importing encyclo never imports torch
```
"""

from .registry import (BrokenEntryError, EncycloError, Entry, UnknownEntryError, create, entries, entry, get,
                       module, reload)
from .data import sample_image


def predict(*args, **kwargs):
    """Top-k classes of an image under a classifier entry; see :func:`encyclo.inference.predict`."""
    from .inference import predict as _predict

    return _predict(*args, **kwargs)


__all__ = ["get", "create", "entry", "entries", "module", "reload", "sample_image", "predict", "Entry", "EncycloError",
           "UnknownEntryError", "BrokenEntryError"]
__version__ = "0.1.0"
