"""Images (issue: images): the content-addressed blob store, the layer store of
overlayfs lower directories keyed by chain id, manifests, indexes and configs,
save/load and registry pull/push.  Knows nothing of containers."""
