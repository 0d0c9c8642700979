//! The changelint admission webhook.
