"""A light stand-in for `dataclasses.dataclass`, for the value classes that
every CLI start loads (references, platforms, descriptors, image configs,
image records): `dataclasses` imports `inspect` (and with it ast, dis,
tokenize), some 5 ms of a `hakobune run`, and builds each class slowly.

What it makes is what `@dataclass` / `@dataclass(frozen=True)` make for
the features these classes use: an `__init__` taking the fields in order
(defaults and `field(default_factory=...)`), `__repr__` (fields with
repr=True), `__eq__` on the fields with compare=True (NotImplemented for
another class), `__hash__` on them when frozen (None, unhashable, when
not), frozen instances refusing assignment (`FrozenInstanceError`, an
AttributeError), `__match_args__`, and `__dataclass_fields__` (the
templates list an object's fields from it, in order).  `replace` is
`dataclasses.replace`.  No `__post_init__`, `InitVar`, `ClassVar`, order,
slots or keyword-only fields: a class needing those uses `dataclasses`.
"""

MISSING = type("_Missing", (), {"__repr__": lambda self: "MISSING"})()


class FrozenInstanceError(AttributeError):
    """Assigning to a field of a frozen record."""


class Field:
    __slots__ = ("name", "type", "default", "default_factory", "compare", "repr")

    def __init__(self, default=MISSING, default_factory=MISSING, compare: bool = True, repr: bool = True):  # noqa: A002
        if default is not MISSING and default_factory is not MISSING:
            raise ValueError("cannot specify both default and default_factory")
        self.name = ""
        self.type = None
        self.default = default
        self.default_factory = default_factory
        self.compare = compare
        self.repr = repr

    def __repr__(self) -> str:
        return f"Field(name={self.name!r}, default={self.default!r}, default_factory={self.default_factory!r})"


def field(*, default=MISSING, default_factory=MISSING, compare: bool = True, repr: bool = True):  # noqa: A002
    return Field(default, default_factory, compare, repr)


def record(cls=None, *, frozen: bool = False):
    """`@record` / `@record(frozen=True)`, as `@dataclass` / `@dataclass(frozen=True)`."""
    def wrap(klass):
        return _process(klass, frozen)

    return wrap if cls is None else wrap(cls)


def replace(obj, **changes):
    """A copy of the record `obj` with `changes` to its fields."""
    fields = type(obj).__dataclass_fields__
    for name in changes:
        if name not in fields:
            raise TypeError(f"{type(obj).__name__}.__init__() got an unexpected keyword argument {name!r}")
    values = {name: changes[name] if name in changes else getattr(obj, name) for name in fields}
    return type(obj)(**values)


def _process(cls, frozen: bool):
    fields = {}
    for base in reversed(cls.__mro__[1:]):
        fields.update(getattr(base, "__dataclass_fields__", None) or {})
    for name, kind in cls.__dict__.get("__annotations__", {}).items():
        value = cls.__dict__.get(name, MISSING)
        spec = value if isinstance(value, Field) else Field(default=value)
        spec.name, spec.type = name, kind
        fields[name] = spec
        if spec.default is not MISSING:
            setattr(cls, name, spec.default)
        elif isinstance(value, Field):
            delattr(cls, name)
    cls.__dataclass_fields__ = fields
    cls.__match_args__ = tuple(fields)
    namespace = {"MISSING": MISSING, "object_setattr": object.__setattr__}
    source = [_init_source(fields, frozen, namespace), _repr_source(cls, fields), _eq_source(fields)]
    exec("\n".join(source), namespace)  # noqa: S102 - code made from the class's own field names
    for name in ("__init__", "__repr__", "__eq__"):
        function = namespace[name]
        function.__qualname__ = f"{cls.__qualname__}.{name}"
        if name not in cls.__dict__:
            setattr(cls, name, function)
    compared = tuple(name for name, spec in fields.items() if spec.compare)
    if frozen:
        if "__hash__" not in cls.__dict__ or cls.__dict__["__hash__"] is None:
            cls.__hash__ = lambda self: hash(tuple(getattr(self, n) for n in compared))
        cls.__setattr__ = _frozen_setattr(cls, fields)
        cls.__delattr__ = _frozen_delattr(cls, fields)
    elif "__hash__" not in cls.__dict__:
        cls.__hash__ = None  # mutable and compared by value: unhashable, as a dataclass
    return cls


def _init_source(fields: dict, frozen: bool, namespace: dict) -> str:
    parameters, body = [], []
    for name, spec in fields.items():
        if spec.default_factory is not MISSING:
            namespace[f"_factory_{name}"] = spec.default_factory
            parameters.append(f"{name}=MISSING")
            value = f"_factory_{name}() if {name} is MISSING else {name}"
        elif spec.default is not MISSING:
            namespace[f"_default_{name}"] = spec.default
            parameters.append(f"{name}=_default_{name}")
            value = name
        else:
            parameters.append(name)
            value = name
        body.append(f"    object_setattr(self, {name!r}, {value})" if frozen else f"    self.{name} = {value}")
    return f"def __init__(self, {', '.join(parameters)}):\n" + ("\n".join(body) or "    pass")


def _repr_source(cls, fields: dict) -> str:
    parts = ", ".join(f"{name}={{self.{name}!r}}" for name, spec in fields.items() if spec.repr)
    return (f"def __repr__(self):\n"
            f"    return f\"{{type(self).__qualname__}}({parts})\"")


def _eq_source(fields: dict) -> str:
    compared = [name for name, spec in fields.items() if spec.compare]
    left = "".join(f"self.{name}," for name in compared)
    right = "".join(f"other.{name}," for name in compared)
    return (f"def __eq__(self, other):\n"
            f"    if other.__class__ is not self.__class__:\n"
            f"        return NotImplemented\n"
            f"    return ({left}) == ({right})")


def _frozen_setattr(cls, fields: dict):
    def __setattr__(self, name, value):
        if type(self) is cls or name in fields:
            raise FrozenInstanceError(f"cannot assign to field {name!r}")
        super(cls, self).__setattr__(name, value)

    return __setattr__


def _frozen_delattr(cls, fields: dict):
    def __delattr__(self, name):
        if type(self) is cls or name in fields:
            raise FrozenInstanceError(f"cannot delete field {name!r}")
        super(cls, self).__delattr__(name)

    return __delattr__
