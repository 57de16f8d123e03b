"""ecs.users.utils stand-in: hash_email, create_user, get_or_create_user, get_user,
get_full_name as ecs: ecs/users/utils.py defines them."""
import hashlib

from django.contrib.auth.models import User


def hash_email(email):
    return hashlib.md5(email.lower().encode('utf-8')).hexdigest()[:30]


def get_or_create_user(email, defaults=None, **kwargs):
    return User.objects.get_or_create(username=hash_email(email), email=email,
                                      defaults=defaults or {}, **kwargs)


def create_user(email, **kwargs):
    return User.objects.create(username=hash_email(email), email=email, **kwargs)


def get_user(email, **kwargs):
    return User.objects.get(username=hash_email(email), **kwargs)


def get_full_name(user):
    profile = user.profile
    if user.first_name or user.last_name:
        nameparts = [user.first_name, user.last_name]
        if profile.title:
            nameparts.insert(0, profile.title)
        if profile.gender == 'f':
            nameparts.insert(0, 'Frau')
        if profile.gender == 'm':
            nameparts.insert(0, 'Herr')
        return ' '.join(nameparts)
    return str(user.email)
