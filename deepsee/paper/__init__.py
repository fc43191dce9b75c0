"""The images and numbers of the paper's figures, built from the library (models, exploration engine,
metrics): ``rows`` (what each figure row shows: walks, edits, SR rows, method outputs) and ``oracle``
(the oracle-selection study of Figs. 5-7 and best-of-N rows). The notebooks call these; the plotting
is in :mod:`deepsee.viz`."""
