"""Settings from the environment: which devices.yml applies, the same way from any folder."""

from pathlib import Path

from bot.settings import Settings


def test_devices_yml_is_the_one_given_then_the_variable_then_the_working_folders_then_the_built_in(
    tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    assert Settings.from_env({}).devices_path is None  # the registry built into perfbot
    (tmp_path / "devices.yml").write_text("devices: {}\n")
    assert Settings.from_env({}).devices_path == Path("devices.yml")
    env = {"PERFBOT_DEVICES": "/etc/perfbot/devices.yml"}
    assert Settings.from_env(env).devices_path == Path("/etc/perfbot/devices.yml")
    assert Settings.from_env(env, devices=Path("lab.yml")).devices_path == Path("lab.yml")
