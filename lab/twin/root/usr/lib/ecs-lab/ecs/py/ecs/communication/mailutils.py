"""ecs.communication.mailutils.deliver stand-in. With the console email backend (ECS's
default, ecs/settings.py, and pillar/default-env.sls:156-157) Django writes each message
to stdout followed by a line of 79 dashes; nofilter=True selects EMAIL_BACKEND_UNFILTERED
(ecs: ecs/communication/mailutils.py). Any other backend is recorded, not sent: the lab
has no mail relay for containers."""
import email.utils
import sys
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.charset import Charset

from django.conf import settings


class SafeMIMEMultipart(MIMEMultipart):
    """django.core.mail.message.SafeMIMEMultipart: deliver() returns (msgid, msg.message());
    IPython shows such an object (no __repr__ of its own) as <module.Class at 0x...>."""

    def __repr__(self):
        return '<django.core.mail.message.%s at 0x%x>' % (type(self).__name__, id(self))


class SafeMIMEText(MIMEText):
    __repr__ = SafeMIMEMultipart.__repr__


def _utf8():
    # Django's SafeMIMEText: utf-8 without transfer encoding of the body
    cs = Charset('utf-8')
    cs.body_encoding = None
    return cs


def _message(recipient, subject, message, from_email, attachments):
    if attachments:
        msg = SafeMIMEMultipart()
        msg.attach(SafeMIMEText(message or '', 'plain', _utf8()))
        for name, content, mimetype in attachments:
            maintype, _, subtype = (mimetype or 'application/octet-stream').partition('/')
            if isinstance(content, str):
                content = content.encode('utf-8')
            part = MIMEApplication(content, subtype)
            part.add_header('Content-Disposition', 'attachment', filename=name)
            msg.attach(part)
    else:
        msg = SafeMIMEText(message or '', 'plain', _utf8())
    msg['Subject'] = subject
    msg['From'] = from_email
    msg['To'] = recipient
    msg['Date'] = email.utils.formatdate()
    msgid = email.utils.make_msgid(domain=settings.DOMAIN)
    msg['Message-ID'] = msgid
    return msgid, msg


def deliver_to_recipient(recipient, subject, message, from_email, message_html=None,
                         attachments=None, nofilter=False, **kwargs):
    backend = settings.EMAIL_BACKEND_UNFILTERED if nofilter else settings.EMAIL_BACKEND
    msgid, msg = _message(recipient, subject, message, from_email, attachments)
    raw = msg.as_string()
    if backend.endswith('console.EmailBackend'):
        sys.stdout.write(raw + '\n' + '-' * 79 + '\n')
        sys.stdout.flush()
    else:
        with open('/tmp/ecs-lab-mail.log', 'a') as f:
            f.write('backend %s (not sent by the lab)\n%s\n%s\n' % (backend, raw, '-' * 79))
    return msgid, msg


def deliver(recipient_list, *args, **kwargs):
    if isinstance(recipient_list, str):
        recipient_list = [recipient_list]
    return [deliver_to_recipient(r, *args, **kwargs) for r in recipient_list]
