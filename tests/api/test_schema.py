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


def test_schema_describes_predicted_wait_commit_links_and_slug_hand_in(client):
    schema = yaml.safe_load(client.get("/api/schema/").content)["components"]["schemas"]
    submission = schema["Submission"]["properties"]
    for name in ("expected_review_by", "queue_position"):
        assert submission[name].get("nullable") and submission[name].get("description")
    assert submission["expected_review_by"]["format"] == "date-time"
    assert submission["queue_position"]["type"] == "integer"
    iteration = schema["Iteration"]["properties"]
    for name in ("commit_url", "compare_url"):
        assert iteration[name]["type"] == "string" and iteration[name].get("nullable")
        assert iteration[name].get("description")
    draft = schema["DraftCreateRequest"]["properties"]
    for name in ("cohort", "lab"):
        assert {"type": "integer"} in draft[name]["oneOf"]
        assert {"type": "string"} in draft[name]["oneOf"]
