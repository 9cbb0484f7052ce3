"""Checkpoint metadata: typed fields read through accessors that tolerate what older checkpoints lack."""
from colorcore import metadata as md
from colorcore.checkpoints import gray_metadata, read_metadata


def test_accessors_read_typed_fields_and_tolerate_what_older_checkpoints_lack(tiny_checkpoint):
    meta = read_metadata(tiny_checkpoint)
    assert md.domain(meta) == "scenes" and md.loss_name(meta) == "huber"
    assert md.train_images(meta) == len(md.split_files(meta, "train"))
    more = {**meta, "data": {**meta["data"], "more": {"root": "m", "n_files": 7, "manifest_sha256": "x"}}}
    assert md.train_images(more) == len(md.split_files(meta, "train")) + 7  # --more-data images train too
    assert [h["epoch"] for h in md.history(meta)] == [1, 2, 3]
    assert md.default_temperature(meta) is None and not md.model_spec(meta).takes_temperature
    bare = gray_metadata()
    assert md.domain(bare) == "other" and md.split_files(bare, "test") is None and md.split_metrics(bare) == {}
    old_vivid = {**bare, "model": {"name": "study_resnet18_classes", "args": {"n_bins": 9}},
                 "classes": {"temperature": 0.25}}
    assert md.default_temperature(old_vivid) == 0.25
