import pytest
import yaml

pytestmark = pytest.mark.django_db


def test_schema_is_valid_openapi_with_token_auth_and_error_bodies(client):
    from drf_spectacular.validation import validate_schema as validate

    response = client.get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    validate(schema)
    assert schema["components"]["securitySchemes"]["tokenAuth"]["name"] == "Authorization"
    assert "Error" in schema["components"]["schemas"]
    token_op = schema["paths"]["/api/v1/auth/token/"]["post"]
    assert "201" in token_op["responses"] and "429" in token_op["responses"]
    assert token_op["requestBody"]["content"]["application/json"]["schema"]


def test_docs_page_runs_under_the_csp(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    csp = response["Content-Security-Policy"]
    assert "'unsafe-inline'" not in csp
    assert "<script>" not in html and "<style>" not in html
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "/api/schema/" in script.content.decode()
