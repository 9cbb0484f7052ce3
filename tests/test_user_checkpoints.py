"""The catalog lists the shipped and the user-trained checkpoints; a shipped name always wins."""
import shutil

from colorcore import paths
from colorcore.checkpoints import catalog_names, checkpoint_stamp, load_checkpoint, read_metadata, resolve


def test_user_checkpoints_join_the_catalog_and_never_hide_a_shipped_one(catalog_env, tiny_classifier, tmp_path,
                                                                        monkeypatch):
    user = tmp_path / "user"
    monkeypatch.setenv(paths.USER_CHECKPOINTS_ENV, str(user))
    assert paths.user_catalog_dir() == user and not user.exists()
    shipped = catalog_names()
    assert "mine" not in shipped
    user.mkdir()
    shutil.copy(tiny_classifier, user / "mine.safetensors")
    shutil.copy(tiny_classifier, user / "places12-mse.safetensors")  # the same name as a shipped checkpoint
    assert catalog_names() == sorted({*shipped, "mine"})
    assert resolve("mine") == user / "mine.safetensors"
    assert resolve("places12-mse") == catalog_env / "places12-mse.safetensors"
    assert read_metadata("places12-mse", catalog_only=True)["model"]["name"] == "study_resnet18"
    assert load_checkpoint("mine", catalog_only=True).model.takes_temperature
    assert checkpoint_stamp("mine").startswith(str(user / "mine.safetensors"))


def test_the_default_user_folder_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.delenv(paths.USER_CHECKPOINTS_ENV)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert paths.user_catalog_dir() == tmp_path / "colorcore" / "checkpoints"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert paths.user_catalog_dir() == tmp_path / "home" / ".local" / "share" / "colorcore" / "checkpoints"
