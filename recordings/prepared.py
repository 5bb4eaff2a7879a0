"""Statements compiled once: the INSERT `Model.objects.create(**values)` sends and the
UPDATE ... RETURNING of a filtered update, for a fraction of the cost.

Every notification Graph sends inserts the same few rows. Django's compiler rebuilds each
INSERT from the model every time, and that costs far more than running it (about 300 µs
against 15 µs on SQLite, bench/webhook.py). A PreparedInsert has Django's own compiler build
the statement the first time, per database, and then runs it again with fresh values. The
values go through the same field methods Model.save() calls (`pre_save` for the automatic
times, `get_db_prep_save` for the database's form), so the row is the one create() would
have made; tests/recordings/test_prepared.py holds the two side by side on both databases.
A PreparedUpdate does the same for `where(rows, ...)._update(changes)`: Django compiles the
statement once for each set of fields changed, and the arguments of the filter are bound
afresh each time.

On PostgreSQL they also run on the backend's prepared cursor (recorder_site/postgresql/base.py):
the server parses and plans each of them once per connection, not each time.

A PreparedInsert sends pre_save and post_save as save() does. It prepares only models it can
insert that way: no parent model, no field whose value is an expression or a database
default, nothing returned but the automatic primary key. Any other model is saved through
the ORM, as is a row whose pre_save receiver set an expression. Its insert_select() gives the
same row as an INSERT ... SELECT, for a statement that folds it into another; that sends no
signal, and its callers use it only for rows no receiver listens to.
"""

import threading
from collections.abc import Callable
from enum import Enum

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import (
    DEFERRED,
    DateField,
    DateTimeField,
    Field,
    Model,
    QuerySet,
    TimeField,
)
from django.db.models.signals import post_save, pre_save
from django.db.models.sql import InsertQuery, UpdateQuery


def plain(value):
    """A choice (a TextChoices or IntegerChoices member) as the str or int it stands for; any
    other value as it is. psycopg finds how to send a subclass of str by walking its classes
    on every statement, the three statuses a notification writes among them; a plain str
    it finds at once."""
    return value._value_ if isinstance(value, Enum) else value


# The date and time fields' own pre_save: Field's own unless auto_now or auto_now_add is set.
_TIMES_PRE_SAVE = (DateField.pre_save, DateTimeField.pre_save, TimeField.pre_save)


def _reads_attribute(field: Field) -> bool:
    """Whether the field's pre_save only reads the instance's attribute (Field's own), unlike
    an automatic time's or a file's. A date or time that is not automatic reads it too."""
    pre_save = type(field).pre_save
    if pre_save is Field.pre_save:
        return True
    return pre_save in _TIMES_PRE_SAVE and not (field.auto_now or field.auto_now_add)


def statement_cursor(connection):
    """The cursor a prepared statement runs on: one the database prepares it on, where the
    backend has one (recorder_site/postgresql/base.py), else Django's ordinary cursor."""
    prepared_cursor = getattr(connection, "prepared_cursor", None)
    return prepared_cursor() if prepared_cursor is not None else connection.cursor()


class PreparedInsert:
    def __init__(self, model: type[Model], *, using: str = DEFAULT_DB_ALIAS) -> None:
        self.model = model
        self.using = using
        # Per database vendor and whether the primary key comes with the values.
        self._statements: dict[tuple, tuple[str, list, bool]] = {}
        self._plans: dict[tuple, tuple[list, list, list]] = {}
        # Per set of names given: how to make the instance (see _instance).
        self._layouts: dict[tuple, list | None] = {}
        # Per database vendor, source and names: the INSERT ... SELECT (insert_select).
        self._selects: dict[tuple, tuple | None] = {}
        self._lock = threading.Lock()

    def create(self, **values) -> Model:
        """Insert one row of `values` (and the model's defaults) and return its instance,
        sending pre_save and post_save as Model.save() does."""
        model = self.model
        obj = self._instance(values)
        connection = connections[self.using]
        meta = model._meta
        pk_set = obj._is_pk_set(meta)
        statement = self._statement(connection, obj, pk_set)
        if statement is None:
            obj.save(force_insert=True, using=self.using)
            return obj
        sql, fields, returns_pk = statement
        varying, constants, every_field = self._plan(connection, fields, values)
        if pre_save.has_listeners(model):
            pre_save.send(
                sender=model, instance=obj, raw=False, using=self.using, update_fields=None
            )
            varying = every_field
            params = [None] * len(fields)
        else:
            # Nothing can have changed a default the caller didn't give: its database form
            # is worked out once, with the statement.
            params = list(constants)
        prepared = [
            (i, field, getattr(obj, field.attname) if keeps else field.pre_save(obj, True))
            for i, field, keeps in varying
        ]
        if any(hasattr(value, "resolve_expression") for _, _, value in prepared):
            # A receiver set an expression: Django's compiler makes that statement.
            returned = model._base_manager._insert(
                [obj], fields=fields, returning_fields=meta.db_returning_fields, using=self.using
            )
            obj._assign_returned_values(returned[0], meta.db_returning_fields)
        else:
            for i, field, value in prepared:
                params[i] = plain(field.get_db_prep_save(value, connection))
            with statement_cursor(connection) as cursor:
                cursor.execute(sql, params)
                if returns_pk:
                    if connection.features.can_return_columns_from_insert:
                        (pk,) = cursor.fetchone()
                    else:
                        pk = connection.ops.last_insert_id(cursor, meta.db_table, meta.pk.column)
                    setattr(obj, meta.pk.attname, pk)
        obj._state.adding = False
        obj._state.db = self.using
        post_save.send(
            sender=model,
            instance=obj,
            created=True,
            update_fields=None,
            raw=False,
            using=self.using,
        )
        return obj

    def insert_select(
        self, values: dict, *, source: str, taken: dict[str, str]
    ) -> tuple[str, list, Model] | None:
        """The row `create(**values)` would insert, as an INSERT ... SELECT ... FROM `source`
        for a statement that folds it into another (a data-modifying WITH, on PostgreSQL):
        the columns of the attributes in `taken` are SQL expressions over `source`'s row,
        every other value is bound as create() binds it. Returns the statement (RETURNING
        the primary key), its parameters and the unsaved instance, whose `taken` attributes
        are None until the caller sets them; or None when create() could not prepare the
        row. The caller runs it, and sends no signal: it is for models nothing listens to.
        """
        connection = connections[self.using]
        obj = self._instance({**values, **dict.fromkeys(taken)})
        meta = self.model._meta
        pk_set = obj._is_pk_set(meta)
        key = (connection.vendor, pk_set, source, tuple(values), tuple(taken.items()))
        recipe = self._selects.get(key, False)
        if recipe is False:
            recipe = self._selects[key] = self._select_recipe(connection, obj, pk_set, key)
        if recipe is None:
            return None
        sql, params, varying = recipe
        params = list(params)
        for i, field, keeps in varying:
            value = getattr(obj, field.attname) if keeps else field.pre_save(obj, True)
            params[i] = plain(field.get_db_prep_save(value, connection))
        return sql, params, obj

    def _select_recipe(self, connection, obj: Model, pk_set: bool, key: tuple) -> tuple | None:
        """insert_select's statement, its fixed parameters, and where the varying ones go."""
        _, _, source, names, taken_items = key
        taken = dict(taken_items)
        meta = self.model._meta
        statement = self._statement(connection, obj, pk_set)
        if statement is None or meta.pk.attname in taken:
            return None
        _, fields, _ = statement
        varying, constants, _ = self._plan(connection, fields, {**dict.fromkeys(names), **taken})
        # Only the bound columns have a parameter: renumbered without the taken ones.
        position = {}
        for i, field in enumerate(fields):
            if field.attname not in taken:
                position[i] = len(position)
        quote = connection.ops.quote_name
        # `source` and `taken` are the caller's SQL, written in code; values are bound.
        sql = (
            f"INSERT INTO {quote(meta.db_table)} "  # noqa: S608
            f"({', '.join(quote(field.column) for field in fields)}) "
            f"SELECT {', '.join(taken.get(field.attname, '%s') for field in fields)} "
            f"FROM {source} RETURNING {quote(meta.pk.column)}"
        )
        params = [constants[i] for i in position]
        varying = [(position[i], field, keeps) for i, field, keeps in varying if i in position]
        return sql, params, varying

    def _instance(self, values: dict) -> Model:
        """`model(**values)`. When every value is given by its column's attribute name, the
        instance is made as Django makes one from a row, each concrete field's value in
        order, the others' defaults filled in as the keyword path fills them: that path of
        Model.__init__ costs several times the positional one. Any other name (a related
        object, a property) takes the keyword path."""
        key = tuple(values)
        layout = self._layouts.get(key, False)
        if layout is False:
            layout = self._layouts[key] = self._layout(key)
        if layout is None:
            return self.model(**values)
        return self.model(
            *[
                values[attname] if given else (DEFERRED if field is None else field.get_default())
                for attname, given, field in layout
            ]
        )

    def _layout(self, names: tuple) -> list | None:
        fields = self.model._meta.concrete_fields
        if not set(names) <= {field.attname for field in fields}:
            return None
        return [
            (
                field.attname,
                field.attname in names,
                # As the keyword path, a field with no column or a generated one is left
                # unset unless given.
                None if field.column is None or field.generated else field,
            )
            for field in fields
        ]

    def _plan(self, connection, fields: list, values: dict) -> tuple[list, list, list]:
        """Which of `fields` take a value each time, and the database form of the others:
        the defaults the caller leaves alone, when fixed (not callable) and kept as they are
        by the field (a pre_save of its own, as auto_now or a file has, makes it vary). Then
        every field, for when a pre_save receiver may have changed any. Each varying field
        comes as (position, field, whether its pre_save only reads the attribute)."""
        key = (connection.vendor, tuple(values))
        plan = self._plans.get(key)
        if plan is None:
            varying, constants, every_field = [], [], []
            for i, field in enumerate(fields):
                every_field.append((i, field, _reads_attribute(field)))
                fixed = (
                    field.name not in values
                    and field.attname not in values
                    and _reads_attribute(field)
                    and not (field.has_default() and callable(field.default))
                )
                if fixed:
                    constants.append(plain(field.get_db_prep_save(field.get_default(), connection)))
                else:
                    varying.append(every_field[-1])
                    constants.append(None)
            plan = self._plans[key] = (varying, constants, every_field)
        return plan

    def _statement(self, connection, obj: Model, pk_set: bool) -> tuple[str, list, bool] | None:
        key = (connection.vendor, pk_set)
        statement = self._statements.get(key, False)
        if statement is False:
            with self._lock:
                statement = self._statements[key] = self._compile(connection, obj, pk_set)
        return statement

    def _compile(self, connection, obj: Model, pk_set: bool) -> tuple[str, list, bool] | None:
        """Django's INSERT for a row like `obj`, or None when this model can't be prepared."""
        meta = self.model._meta
        fields = [
            f
            for f in meta.local_concrete_fields
            if not f.generated and (pk_set or f is not meta.auto_field)
        ]
        returning = list(meta.db_returning_fields)
        if pk_set and meta.auto_field in returning:
            returning.remove(meta.auto_field)
        if returning not in ([], [meta.pk]) or meta.order_with_respect_to or meta.parents:
            return None
        probe = self.model(**{f.attname: getattr(obj, f.attname) for f in fields})
        for field in fields:
            value = field.pre_save(probe, True)
            if field.has_db_default() or hasattr(value, "resolve_expression"):
                return None
        query = InsertQuery(self.model)
        query.insert_values(fields, [probe])
        compiler = query.get_compiler(connection=connection)
        compiler.returning_fields = returning
        compiled = compiler.as_sql()
        if len(compiled) != 1:
            return None
        sql, params = compiled[0]
        if len(params) != len(fields):
            return None  # a field with a placeholder of its own
        return sql, fields, bool(returning)


class PreparedUpdate:
    """`where(rows, *shape, *args)` updated with `changes`, returning the `returning` columns of
    the rows it changed: one UPDATE ... RETURNING, compiled by Django once per database,
    `shape` and set of fields changed.

    `where` is given the rows of the model's default manager, so it may use its queryset's
    methods. `shape` is what fixes the statement's text (a list of statuses, say); `args` are
    bound as parameters each time. `where` must pass each argument to a lookup untouched: it is
    compiled with a stand-in for each, and if one doesn't arrive as a parameter as given
    (transformed, split, or refused as text by a lookup that converts it, as an integer's
    does), the statement isn't prepared and each run goes through Django's compiler instead,
    with the same result.
    """

    def __init__(
        self,
        model: type[Model],
        where: Callable,
        *,
        returning: tuple[str, ...],
        using: str = DEFAULT_DB_ALIAS,
    ) -> None:
        self.model = model
        self.where = where
        self.returning = returning
        self.using = using
        self._statements: dict[tuple, tuple | None] = {}
        self._lock = threading.Lock()

    def run(self, changes: dict, *, shape: tuple = (), args: tuple = ()) -> list[tuple]:
        connection = connections[self.using]
        statement = self._statement(connection, changes, shape, args)
        if statement is None:
            rows = self.where(self.model._default_manager.using(self.using), *shape, *args)
            return update_returning(rows, changes, returning=self.returning)
        with statement_cursor(connection) as cursor:
            cursor.execute(*self._bound(connection, statement, changes, args))
            return [tuple(row) for row in cursor.fetchall()]

    def bind(
        self, changes: dict, *, shape: tuple = (), args: tuple = ()
    ) -> tuple[str, list] | None:
        """The statement run() would run and its parameters, for a statement that folds it
        into another; None where run() goes through Django's compiler instead."""
        connection = connections[self.using]
        statement = self._statement(connection, changes, shape, args)
        return None if statement is None else self._bound(connection, statement, changes, args)

    def _statement(self, connection, changes: dict, shape: tuple, args: tuple) -> tuple | None:
        key = (connection.vendor, shape, tuple(changes))
        statement = self._statements.get(key, False)
        if statement is False:
            with self._lock:
                statement = self._statements[key] = self._compile(connection, changes, shape, args)
        return statement

    @staticmethod
    def _bound(connection, statement: tuple, changes: dict, args: tuple) -> tuple[str, list]:
        sql, fields, where_params, positions = statement
        params = [
            plain(field.get_db_prep_save(changes[field.name], connection)) for field in fields
        ]
        bound = list(where_params)
        for position, arg in zip(positions, args, strict=True):
            bound[position] = plain(arg)
        return sql, [*params, *bound]

    def _compile(self, connection, changes: dict, shape: tuple, args: tuple) -> tuple | None:
        if not connection.features.can_return_rows_from_update:
            return None
        meta = self.model._meta
        # Mixed case, so that a `where` that lowers or uppers its argument is caught too.
        stand_ins = tuple(f"\x00Prepared-Argument-{i}\x00" for i in range(len(args)))
        try:
            rows = self.where(self.model._default_manager.using(self.using), *shape, *stand_ins)
        except (TypeError, ValueError):
            return None  # a lookup that converts its argument (an integer's) refused the text
        fields = [meta.get_field(name) for name in changes]
        if any(hasattr(field, "get_placeholder_sql") for field in fields):
            return None
        query = rows.query.chain(UpdateQuery)
        query.add_update_fields([(field, None, changes[field.name]) for field in fields])
        query.annotations = {}
        if query.get_related_updates():
            return None
        query.get_initial_alias()
        if query.count_active_tables() != 1:
            return None  # the filter reaches another table
        compiler = query.get_compiler(connection=connection)
        returning = [meta.get_field(name) for name in self.returning]
        compiler.returning_fields = returning
        sql, params = compiler.as_sql()
        if compiler.get_converters([f.get_col(meta.db_table) for f in returning]):
            return None
        where_params = [plain(param) for param in params[len(fields) :]]
        positions = []
        for stand_in in stand_ins:
            if where_params.count(stand_in) != 1:
                return None
            positions.append(where_params.index(stand_in))
        return sql, fields, where_params, positions


def update_returning(rows: QuerySet, changes: dict, *, returning: tuple[str, ...]) -> list[tuple]:
    """`rows.update(**changes)`, returning the `returning` columns of the rows it changed.

    One statement (UPDATE ... RETURNING) rather than an UPDATE and a SELECT. QuerySet.update()
    returns only a count; this is the same UPDATE through the method Model.save() uses to
    get columns back from one (Django's private `_update`, so Django is pinned in
    requirements.txt). PostgreSQL and SQLite (3.35+) both return rows from an UPDATE.
    """
    meta = rows.model._meta
    values = [(meta.get_field(name), None, value) for name, value in changes.items()]
    return rows._update(values, returning_fields=[meta.get_field(name) for name in returning])
