"""A very small Django-1.8-like model layer over ecslab.db: Model.objects.get/filter/
create/get_or_create, QuerySet.exists/count/first/iteration, instance.save()/delete().
Only exact lookups (and __in), as the helper scripts use them."""
import datetime

from ecslab.db import q


class ObjectDoesNotExist(Exception):
    pass


class MultipleObjectsReturned(Exception):
    pass


class FieldError(Exception):
    pass


def now():
    return datetime.datetime.now(datetime.timezone.utc)


class QuerySet:
    def __init__(self, model, where=None):
        self.model = model
        self.where = list(where or [])

    def _sql(self, kw):
        where = list(self.where)
        for k, v in kw.items():
            field, _, op = k.partition('__')
            if field == 'pk':
                field = 'id'
            cols = self.model._columns()
            if field not in cols and field + '_id' not in cols:
                raise FieldError("Cannot resolve keyword '%s' into field. Choices are: %s"
                                 % (field, ', '.join(sorted(self.model._fields))))
            col = field if field in cols else field + '_id'
            if isinstance(v, Model):
                v = v.id
            if op == 'in':
                where.append(('"%s" = ANY(%%s)' % col, list(v)))
            elif op in ('', 'exact'):
                where.append(('"%s" IS NULL' % col, None) if v is None else ('"%s" = %%s' % col, v))
            else:
                raise FieldError("Unsupported lookup '%s' for field '%s'" % (op, field))
        return where

    def filter(self, **kw):
        return QuerySet(self.model, self._sql(kw))

    def all(self):
        return QuerySet(self.model, self.where)

    def _select(self, extra=''):
        sql = 'SELECT * FROM "%s"' % self.model._table
        args = []
        if self.where:
            sql += ' WHERE ' + ' AND '.join(w for w, _ in self.where)
            args = [a for w, a in self.where if a is not None or '%s' in w]
        return q(sql + ' ORDER BY id' + extra, args)

    def __iter__(self):
        return iter([self.model._from_row(r) for r in self._select()])

    def __len__(self):
        return len(self._select())

    def exists(self):
        return bool(self._select(' LIMIT 1'))

    def count(self):
        return len(self._select())

    def first(self):
        rows = self._select(' LIMIT 1')
        return self.model._from_row(rows[0]) if rows else None

    def get(self, **kw):
        rows = self.filter(**kw)._select(' LIMIT 21')
        if not rows:
            raise self.model.DoesNotExist('%s matching query does not exist.' % self.model.__name__)
        if len(rows) > 1:
            raise self.model.MultipleObjectsReturned(
                'get() returned more than one %s -- it returned %s!' % (self.model.__name__, len(rows)))
        return self.model._from_row(rows[0])

    def create(self, **kw):
        obj = self.model(**kw)
        obj.save()
        return obj

    def get_or_create(self, defaults=None, **kw):
        try:
            return self.get(**kw), False
        except self.model.DoesNotExist:
            args = dict(kw)
            args.update(defaults or {})
            return self.create(**args), True

    def values_list(self, field, flat=False):
        return [getattr(o, field) if flat else (getattr(o, field),) for o in self]

    def __repr__(self):
        return '[%s]' % ', '.join(repr(o) for o in self)


class Manager:
    def __get__(self, obj, model):
        return QuerySet(model)


class ModelMeta(type):
    def __new__(mcs, name, bases, ns):
        cls = super().__new__(mcs, name, bases, ns)
        cls.DoesNotExist = type('DoesNotExist', (ObjectDoesNotExist,), {'__module__': ns.get('__module__')})
        cls.MultipleObjectsReturned = type('MultipleObjectsReturned', (MultipleObjectsReturned,),
                                           {'__module__': ns.get('__module__')})
        return cls


class Model(metaclass=ModelMeta):
    _table = None
    _fields = {}        # name -> default (callable or value); FKs end in _id
    objects = Manager()

    def __init__(self, **kw):
        self.id = kw.pop('id', None)
        for f, default in self._fields.items():
            setattr(self, f, default() if callable(default) else default)
        for k, v in kw.items():
            if isinstance(v, Model):
                setattr(self, k + '_id', v.id)
                setattr(self, '_cache_' + k, v)
            elif k in self._fields or k + '_id' in self._fields:
                setattr(self, k, v)
            else:
                raise TypeError("'%s' is an invalid keyword argument for this function" % k)

    @classmethod
    def _columns(cls):
        return ['id'] + list(cls._fields)

    @classmethod
    def _from_row(cls, row):
        obj = cls.__new__(cls)
        for k, v in row.items():
            setattr(obj, k, v)
        return obj

    @property
    def pk(self):
        return self.id

    def save(self):
        cols = list(self._fields)
        vals = [getattr(self, c) for c in cols]
        if self.id is None:
            row = q('INSERT INTO "%s" (%s) VALUES (%s) RETURNING id' % (
                self._table, ', '.join('"%s"' % c for c in cols), ', '.join(['%s'] * len(cols))),
                vals, fetch='one')
            self.id = row['id']
            self._post_create()
        else:
            q('UPDATE "%s" SET %s WHERE id = %%s' % (
                self._table, ', '.join('"%s" = %%s' % c for c in cols)), vals + [self.id], fetch=None)

    def _post_create(self):
        pass

    def delete(self):
        q('DELETE FROM "%s" WHERE id = %%s' % self._table, [self.id], fetch=None)

    def __repr__(self):
        return '<%s: %s>' % (type(self).__name__, self)

    def __str__(self):
        return '%s object' % type(self).__name__

    def __eq__(self, other):
        return type(self) is type(other) and self.id is not None and self.id == other.id

    def __hash__(self):
        return hash((type(self).__name__, self.id))
