"""django.contrib.auth.models stand-in: User and Group over the real ECS tables auth_user,
auth_group, auth_user_groups (Django 1.8 schema), with ECS's post_save receiver that creates
users_userprofile and users_usersettings rows for a new user (ecs: ecs/users/models.py)."""
from ecslab.orm import Model, QuerySet, now
from ecslab.db import q
from django.contrib.auth.hashers import make_password, check_password


class Group(Model):
    _table = 'auth_group'
    _fields = {'name': ''}

    def __str__(self):
        return self.name


class _UserGroups:
    """user.groups: the many-to-many manager (add/remove/clear/all/filter)."""

    def __init__(self, user):
        self.user = user

    def _ids(self):
        return [r['group_id'] for r in q('SELECT group_id FROM auth_user_groups WHERE user_id = %s',
                                         [self.user.id])]

    def add(self, *groups):
        for g in groups:
            gid = g.id if isinstance(g, Model) else g
            if gid not in self._ids():
                q('INSERT INTO auth_user_groups (user_id, group_id) VALUES (%s, %s)',
                  [self.user.id, gid], fetch=None)

    def remove(self, *groups):
        for g in groups:
            q('DELETE FROM auth_user_groups WHERE user_id = %s AND group_id = %s',
              [self.user.id, g.id if isinstance(g, Model) else g], fetch=None)

    def clear(self):
        q('DELETE FROM auth_user_groups WHERE user_id = %s', [self.user.id], fetch=None)

    def all(self):
        return QuerySet(Group).filter(id__in=self._ids())

    def filter(self, **kw):
        return self.all().filter(**kw)

    def values_list(self, field, flat=False):
        return self.all().values_list(field, flat=flat)


class User(Model):
    _table = 'auth_user'
    _fields = {
        'password': '', 'last_login': None, 'is_superuser': False, 'username': '',
        'first_name': '', 'last_name': '', 'email': '', 'is_staff': False,
        'is_active': True, 'date_joined': now,
    }

    def __str__(self):
        return self.username

    def set_password(self, raw):
        self.password = make_password(raw)

    def set_unusable_password(self):
        self.password = make_password(None)

    def check_password(self, raw):
        return check_password(raw, self.password)

    def get_full_name(self):
        return ('%s %s' % (self.first_name, self.last_name)).strip()

    @property
    def groups(self):
        return _UserGroups(self)

    @property
    def profile(self):
        from ecs.users.models import UserProfile
        if getattr(self, '_cache_profile', None) is None:
            try:
                self._cache_profile = UserProfile.objects.get(user_id=self.id)
            except UserProfile.DoesNotExist:
                raise UserProfile.DoesNotExist('User has no profile.') from None
        return self._cache_profile

    def _post_create(self):
        # ecs: ecs/users/models.py _post_user_save (post_save, created)
        from ecs.users.models import UserProfile, UserSettings
        UserProfile.objects.create(user_id=self.id)
        UserSettings.objects.create(user_id=self.id)
