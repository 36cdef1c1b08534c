//! Wire types of TestRail API v2.
//!
//! Field names are TestRail's JSON keys. Every entity keeps the keys it
//! does not name, custom fields (`custom_*`) included, in its `extra` map,
//! so a decoded entity encodes back to the same JSON. Decoding is lenient
//! where TestRail versions differ: booleans may arrive as `0`/`1`, ids as
//! numeric strings, and many fields as `null`.
//!
//! Entities that TestRail returns are `#[non_exhaustive]` and implement
//! `Default`, so other crates build them with `Default::default()` and
//! field assignment. Request bodies (`New*`, filters, [`RunUpdate`]) are
//! plain structs with constructors.

mod case;
pub(crate) mod lenient;
mod project;
mod result;
mod run;

pub use case::*;
pub use project::*;
pub use result::*;
pub use run::*;

/// Keys of an entity that this crate does not name, such as `custom_*`
/// fields, in TestRail's JSON form.
pub type Extra = serde_json::Map<String, serde_json::Value>;
