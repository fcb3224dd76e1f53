//! `reflex-cni`: placeholder docs, replaced below.
#![warn(missing_docs)]

pub mod config;
pub mod spec;
