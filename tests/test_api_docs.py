"""The public API documents itself: every public name has a docstring (what help() shows), and
every function and method of it annotates its parameters and its return."""
import inspect
import pathlib

import pytest

import micrograd_c
import micrograd_c.data
import micrograd_c.engine
import micrograd_c.losses
import micrograd_c.nn
import micrograd_c.optim
import micrograd_c.reference.engine

Value = micrograd_c.engine.Value


def _defined_in(obj, module):
    """Whether obj is a function or class of `module` (or of its submodules, for a package)."""
    home = getattr(obj, "__module__", None) or ""
    return (inspect.isfunction(obj) or inspect.isclass(obj)) and \
        (home == module.__name__ or home.startswith(module.__name__ + "."))


def _public(module, classes_only=False):
    """(qualified name, object) for the public functions and classes module defines (the
    package's: those of its __all__), and those of the public submodules of a package."""
    names = getattr(module, "__all__", None) or [n for n in vars(module) if not n.startswith("_")]
    out = []
    for name in names:
        obj = getattr(module, name)
        if inspect.ismodule(obj) and obj.__name__.startswith(module.__name__ + "."):
            out += _public(obj, classes_only)
        elif _defined_in(obj, micrograd_c if module is micrograd_c else module) \
                and (inspect.isclass(obj) or not classes_only):
            out.append((f"{module.__name__}.{name}", obj))
    return out


def _methods(cls):
    """(qualified name, attribute name, attribute) for the methods and properties of cls and of
    its bases in micrograd_c (not those inherited from object or other builtins)."""
    out = []
    for owner in cls.__mro__:
        if not _defined_in(owner, micrograd_c):
            continue
        for name, attr in vars(owner).items():
            if isinstance(attr, (staticmethod, classmethod)):
                attr = attr.__func__
            if inspect.isfunction(attr) or isinstance(attr, property):
                out.append((f"{owner.__module__}.{owner.__qualname__}.{name}", name, attr))
    return out


MODULES = [micrograd_c, micrograd_c.data, micrograd_c.engine, micrograd_c.losses, micrograd_c.nn,
           micrograd_c.optim, micrograd_c.reference.engine]

# the public API: micrograd_c's names, and nn's classes, optim's and losses' functions and classes
TOP = dict(_public(micrograd_c) + _public(micrograd_c.nn, classes_only=True)
           + _public(micrograd_c.optim) + _public(micrograd_c.losses)
           + [("micrograd_c.data.make_moons", micrograd_c.data.make_moons),
              ("micrograd_c.reference.engine.Value", micrograd_c.reference.engine.Value)])
# their methods and properties (each once, under the class that defines it)
METHODS = {}
for _obj in TOP.values():
    if inspect.isclass(_obj):
        for _qualname, _name, _attr in _methods(_obj):
            METHODS.setdefault(_qualname, (_name, _attr))
# and the private names of a Value that graph-drawing and custom-op code written for micrograd use
VALUE_EXTRAS = ("_prev", "_op", "_backward")


def _is_dunder(name):
    return name.startswith("__") and name.endswith("__")


def _annotated_api(qualname, name):
    """Whether METHODS[qualname] should be annotated: public methods and properties, the
    dunder methods micrograd_c defines, and a Value's VALUE_EXTRAS."""
    return not name.startswith("_") or _is_dunder(name) or \
        name in VALUE_EXTRAS and qualname.endswith(f".Value.{name}")


def _doc(name, attr):
    """attr's docstring; its own, for a name object has too (getdoc would give object's)."""
    if isinstance(attr, property):
        return inspect.getdoc(attr)
    return (attr.__doc__ or "").strip() if hasattr(object, name) else inspect.getdoc(attr)


def _functions(attr):
    """The functions whose signatures should be annotated: a property's getter and setter."""
    if isinstance(attr, property):
        return [f for f in (attr.fget, attr.fset) if f is not None]
    return [attr]


def _unannotated(fn):
    """The names of fn's parameters (not self or cls) without annotations, and 'return'."""
    sig = inspect.signature(fn)
    missing = [p.name for i, p in enumerate(sig.parameters.values())
               if p.annotation is p.empty and not (i == 0 and p.name in ("self", "cls"))]
    if sig.return_annotation is sig.empty:
        missing.append("return")
    return missing


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_module_has_docstring(module):
    assert inspect.getdoc(module)


@pytest.mark.parametrize("qualname", sorted(TOP))
def test_public_name_has_docstring(qualname):
    assert inspect.getdoc(TOP[qualname]), f"{qualname} has no docstring"


@pytest.mark.parametrize("qualname", sorted(q for q in TOP if inspect.isfunction(TOP[q])))
def test_public_function_is_annotated(qualname):
    missing = _unannotated(TOP[qualname])
    assert not missing, f"{qualname}: {missing} not annotated"


@pytest.mark.parametrize("qualname", sorted(q for q, (name, _) in METHODS.items()
                                            if not name.startswith("_")))
def test_public_method_has_docstring(qualname):
    name, attr = METHODS[qualname]
    assert _doc(name, attr), f"{qualname} has no docstring"


@pytest.mark.parametrize("qualname", sorted(q for q, (name, _) in METHODS.items()
                                            if _annotated_api(q, name)))
def test_method_is_annotated(qualname):
    name, attr = METHODS[qualname]
    for fn in _functions(attr):
        missing = _unannotated(fn)
        assert not missing, f"{qualname}: {missing} not annotated"


@pytest.mark.parametrize("cls", [Value, micrograd_c.reference.engine.Value],
                         ids=lambda c: c.__module__)
def test_value_documents_its_operators_and_graph(cls):
    """help(Value) explains each op, dunder or not, and what graph code reads (_prev, _op)."""
    names = [n for n, a in vars(cls).items()
             if (inspect.isfunction(a) or isinstance(a, property))
             and (not n.startswith("_") or _is_dunder(n) or n in VALUE_EXTRAS)]
    for name in ("__init__", "__add__", "__radd__", "__mul__", "__rmul__", "__pow__", "__neg__",
                 "__sub__", "__rsub__", "__truediv__", "__rtruediv__", "relu", "tanh", "exp",
                 "log", "sigmoid", "backward", "data", "grad", "_prev"):
        assert name in names, name
    undocumented = [n for n in names if not _doc(n, vars(cls)[n])]
    assert not undocumented, f"{cls.__module__}.Value: {undocumented} have no docstring"


def test_backward_docstring_says_what_it_does_to_grads():
    doc = inspect.getdoc(Value.backward)
    assert "grad to 1" in doc and "add" in doc


def test_py_typed_marker_is_in_the_package():
    assert (pathlib.Path(micrograd_c.__file__).parent / "py.typed").is_file()
