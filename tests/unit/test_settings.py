import pytest

from stackapp.settings import Settings, SettingsError


def test_defaults_run_the_app_without_sentry():
    settings = Settings.from_env({})
    assert settings.sentry_enabled is False
    assert settings.otlp_endpoint == "http://otel-collector:4318"
    assert settings.trace_sample_rate == 1.0


def test_every_setting_is_read_from_the_environment():
    settings = Settings.from_env({
        "SENTRY_DSN": "https://abc123@sentry.example.com/7",
        "SENTRY_ENVIRONMENT": "staging",
        "SENTRY_RELEASE": "v1.2.3",
        "TRACE_SAMPLE_RATE": "0.25",
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318",
        "OTEL_SERVICE_NAME": "shop",
        "TRACING_ENABLED": "false",
        "SENTRY_URL": "http://sentry.local:9000/",
        "GRAFANA_URL": "http://grafana.local:3000",
    })
    assert settings.sentry_dsn == "https://abc123@sentry.example.com/7"
    assert settings.environment == "staging"
    assert settings.release == "v1.2.3"
    assert settings.trace_sample_rate == 0.25
    assert settings.otlp_endpoint == "http://collector:4318"
    assert settings.service_name == "shop"
    assert settings.tracing_enabled is False
    assert settings.sentry_url == "http://sentry.local:9000"


def test_environment_falls_back_to_ENVIRONMENT():
    assert Settings.from_env({"ENVIRONMENT": "production"}).environment == "production"


def test_release_defaults_to_the_commit_the_image_was_built_from():
    assert Settings.from_env({"APP_GIT_COMMIT": "4f2a9c1"}).release == "4f2a9c1"
    assert Settings.from_env({}).release.startswith("stackapp@")


@pytest.mark.parametrize("name, value, words", [
    ("TRACE_SAMPLE_RATE", "2", "between 0 and 1"),
    ("TRACE_SAMPLE_RATE", "ten", "not a number"),
    ("FAILURE_RATE", "-0.1", "between 0 and 1"),
    ("TRACING_ENABLED", "maybe", "true/false"),
    ("SENTRY_DSN", "not a dsn", "http(s) URL"),
    ("SENTRY_DSN", "http://sentry.example.com/1", "public key"),
    ("SENTRY_DSN", "http://key@sentry.example.com/", "project id"),
    ("OTEL_EXPORTER_OTLP_ENDPOINT", "otel-collector:4318", "http(s) URL"),
    ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:port", "port"),
    ("OTEL_EXPORT_TIMEOUT_SECONDS", "0", "greater than 0"),
    ("GRAFANA_URL", "ftp://grafana", "http(s) URL"),
])
def test_a_bad_setting_is_refused_with_its_name(name, value, words):
    with pytest.raises(SettingsError) as error:
        Settings.from_env({name: value})
    message = str(error.value)
    assert message.startswith(f"{name}=")
    assert words in message
    assert "\n" not in message
