"""ecs.users.models stand-in: UserProfile and UserSettings (tables users_userprofile,
users_usersettings; fields as ecs: ecs/users/models.py)."""
from ecslab.orm import Model, now


class UserProfile(Model):
    _table = 'users_userprofile'
    _fields = {
        'user_id': None, 'last_password_change': now, 'is_phantom': False, 'is_indisposed': False,
        'communication_proxy_id': None, 'is_board_member': False, 'is_resident_member': False,
        'is_omniscient_member': False, 'is_executive': False, 'is_internal': False,
        'can_have_tasks': False, 'can_have_open_tasks': False, 'is_testuser': False,
        'session_key': None, 'gender': '', 'title': '', 'organisation': '', 'jobtitle': '',
        'swift_bic': '', 'iban': '', 'address1': '', 'address2': '', 'zip_code': '', 'city': '',
        'phone': '', 'fax': '', 'signing_connector': 'onlinebku',
        'forward_messages_after_minutes': 0, 'task_uids': list,
    }

    @property
    def user(self):
        from django.contrib.auth.models import User
        return User.objects.get(id=self.user_id)

    def __str__(self):
        return str(self.user)


class UserSettings(Model):
    _table = 'users_usersettings'
    _fields = {
        'user_id': None, 'submission_filter_search': '{}', 'submission_filter_all': '{}',
        'submission_filter_widget': '{}', 'submission_filter_widget_internal': '{}',
        'submission_filter_mine': '{}', 'submission_filter_assigned': '{}', 'task_filter': None,
        'useradministration_filter': '{}',
    }
