//! Clover.
//!
//! Contract (see the shared PLATFORMS notes, section 2, and docs.clover.com/docs/webhooks):
//! - Auth: `Authorization: Bearer <token>`; 16 requests per second per token.
//! - Webhooks: a one-time handshake POSTs `{"verificationCode": ...}`, which must be answered
//!   200 (the code is pasted into the dashboard); afterwards every notification carries the
//!   app's static `X-Clover-Auth` code. There is no body signature.
//! - Notifications carry only ids (`objectId` = `<KEY>:<id>`, `type`, `ts` in ms), possibly
//!   several merchants and objects per POST: fetch the objects before acting.
//! - Dedupe key: `objectId` + `ts`. Delivery is not guaranteed: reconcile on a schedule.

pub mod webhook;
