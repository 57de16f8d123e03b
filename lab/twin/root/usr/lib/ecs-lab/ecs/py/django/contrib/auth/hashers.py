"""Django 1.8's default password hasher, PBKDF2PasswordHasher (pbkdf2_sha256, 20000
iterations, 12-character salt): the format stored in auth_user.password."""
import base64
import hashlib
import secrets
import string

ITERATIONS = 20000
UNUSABLE_PASSWORD_PREFIX = '!'


def make_password(password, salt=None):
    if password is None:
        return UNUSABLE_PASSWORD_PREFIX + ''.join(
            secrets.choice(string.ascii_letters + string.digits) for _ in range(40))
    salt = salt or ''.join(secrets.choice(string.ascii_letters + string.digits) for _ in range(12))
    h = hashlib.pbkdf2_hmac('sha256', password.encode('utf-8'), salt.encode('utf-8'), ITERATIONS)
    return 'pbkdf2_sha256$%d$%s$%s' % (ITERATIONS, salt, base64.b64encode(h).decode('ascii').strip())


def check_password(password, encoded):
    try:
        algo, it, salt, _ = encoded.split('$', 3)
    except ValueError:
        return False
    if algo != 'pbkdf2_sha256':
        return False
    h = hashlib.pbkdf2_hmac('sha256', password.encode('utf-8'), salt.encode('utf-8'), int(it))
    return secrets.compare_digest(encoded, 'pbkdf2_sha256$%s$%s$%s' % (
        it, salt, base64.b64encode(h).decode('ascii').strip()))
