"""What the explorer's pages compute, free of Streamlit so it is unit tested without a browser.

One module per concern; import the module you need (``from colorcore.app import catalog``):

* :mod:`~colorcore.app.names`: content hashes, sanitized upload and download names, ZIP archives;
* :mod:`~colorcore.app.catalog`: checkpoint stamps, domains, labels, table rows, default choices;
* :mod:`~colorcore.app.inputs`: shipped examples, decoded uploads, image facts, micrograph hints;
* :mod:`~colorcore.app.display`: display-size previews and the before/after slider (``slider.html``);
* :mod:`~colorcore.app.results`: colorizations for the caches, metrics, colour summaries, test scores;
* :mod:`~colorcore.app.folders`: folders under the data root and folder statistics as table rows;
* :mod:`~colorcore.app.figures`: Plotly figures (training curves, a*b*, hue, chroma, sizes);
* :mod:`~colorcore.app.zipdata`, :mod:`~colorcore.app.trainingdata`: a ZIP of training images extracted
  safely, training data checked; :mod:`~colorcore.app.training`: the Train page's requests, estimates,
  progress; :mod:`~colorcore.app.jobs`, :mod:`~colorcore.app.jobrunner`: training jobs on disk and the
  process that runs each.

The Streamlit caches and the model work through the queue are in ``app_cache.py``, the widgets the pages share in
``app_widgets.py``; the pages in ``pages/``.
"""
