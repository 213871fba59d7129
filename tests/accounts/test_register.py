import pytest

from accounts.models import User
from accounts.services import user_register
from core.exceptions import ApplicationError
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_register_creates_an_account_that_signs_in_with_its_password():
    user = user_register(email=" Ada@Example.com ", name=" Ada ", password="a-long-unusual-pass")
    assert user.email == "ada@example.com" and user.name == "Ada"
    assert user.check_password("a-long-unusual-pass")


def test_register_refuses_an_existing_email_in_any_case():
    UserFactory(email="grace@example.com")
    with pytest.raises(ApplicationError) as excinfo:
        user_register(email="GRACE@example.com", name="", password="a-long-unusual-pass")
    assert excinfo.value.code == "conflict"
    assert User.objects.filter(email_key="grace@example.com").count() == 1


@pytest.mark.parametrize(
    "email,password,field",
    [("not-an-email", "a-long-unusual-pass", "email"), ("lin@example.com", "123", "password")],
)
def test_register_refuses_bad_input_and_writes_nothing(email, password, field):
    with pytest.raises(ApplicationError) as excinfo:
        user_register(email=email, name="", password=password)
    assert excinfo.value.extra["field"] == field
    assert not User.objects.exists()
