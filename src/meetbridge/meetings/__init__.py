"""Meetings: the public service (`service.Meetings`, `inputs`, `source`) and the engine that
makes each meeting true at the video platform exactly once (`lifecycle`, `invites`,
`from_zoom`, `reconcile`, `statements`), behind the `core.platform.VideoPlatform` port."""
