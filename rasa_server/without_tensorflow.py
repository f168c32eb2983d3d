"""Serving without TensorFlow: the Rasa server never loads it, because nothing it runs uses it.

This project's pipeline and policies (config.yml) use no TensorFlow: its classifiers are NumPy. Yet
Rasa 3.6 imports TensorFlow in every process that loads a model, which costs the server about 350 MiB
and several seconds of start: `rasa.utils.train_utils` imports the training callbacks and data
generators, and loading a model rebuilds its stored *training* graph, whose validator imports
DIETClassifier, ResponseSelector and TEDPolicy; each of those modules subclasses Keras classes as it
is imported.

install(), called by scripts/rasa_run.py before Rasa is imported, and only there (training, `rasa
test` and the test suite run Rasa as it ships):
- makes `import tensorflow` lazy: the module object exists, nothing of it runs until an attribute is
  read;
- puts stand-ins in place of the training-only modules above. Their classes are only named (in the
  validator's lists of component types), never run when serving; if a model's prediction graph ever
  used one, loading it fails at once with a message saying so, rather than running without it.

tests/test_without_tensorflow.py starts the server's way of loading the shipped model and fails if
TensorFlow ran or a stand-in was used: it notices an upgrade or a new component that needs either.
"""
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from typing import Any, Dict, Tuple

# module -> the names other Rasa modules import from it; every one is used only to train a model.
TRAINING_ONLY_MODULES: Dict[str, Tuple[str, ...]] = {
    "rasa.utils.tensorflow.callback": ("RasaTrainingLogger", "RasaModelCheckpoint"),
    "rasa.utils.tensorflow.data_generator": ("RasaDataGenerator", "RasaBatchDataGenerator"),
    "rasa.nlu.classifiers.diet_classifier": ("DIETClassifier",),
    "rasa.nlu.selectors.response_selector": ("ResponseSelector",),
    "rasa.core.policies.ted_policy": ("TEDPolicy",),
    "rasa.core.policies.unexpected_intent_policy": ("UnexpecTEDIntentPolicy",),
}


class NeedsTensorFlow(RuntimeError):
    """A model asked the server for a component this project serves without."""


def stand_in_class(module: str, name: str) -> type:
    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise NeedsTensorFlow(
            f"{module}.{name} needs TensorFlow, which this project's Rasa server does not load "
            "(rasa_server/without_tensorflow.py). Take the component out of config.yml, or remove "
            "the install() call from scripts/rasa_run.py to serve it."
        )

    methods = {"__init__": refuse, "create": classmethod(refuse), "load": classmethod(refuse)}
    return type(name, (), {"__module__": module, **methods})


class LazyTensorFlowFinder(importlib.abc.MetaPathFinder):
    """Finds `tensorflow` as usual and hands it to a LazyLoader."""

    def find_spec(self, fullname, path, target=None):
        if fullname != "tensorflow":
            return None
        sys.meta_path.remove(self)  # find the real module, then stay out of the way
        spec = importlib.util.find_spec(fullname)
        if spec is not None and spec.loader is not None:
            spec.loader = importlib.util.LazyLoader(spec.loader)
        return spec


def install() -> None:
    """Before Rasa is imported; does nothing if TensorFlow or Rasa already are."""
    if "tensorflow" in sys.modules or "rasa" in sys.modules:
        return
    sys.meta_path.insert(0, LazyTensorFlowFinder())
    for module, names in TRAINING_ONLY_MODULES.items():
        stand_in = importlib.util.module_from_spec(importlib.machinery.ModuleSpec(module, None))
        for name in names:
            setattr(stand_in, name, stand_in_class(module, name))
        sys.modules[module] = stand_in


def tensorflow_ran() -> bool:
    """Whether TensorFlow's code has run in this process (a lazy module that was never read has not)."""
    module = sys.modules.get("tensorflow")
    return module is not None and not isinstance(module, importlib.util._LazyModule)
