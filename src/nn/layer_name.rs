//! Naming a layer by its position in a tuple model, for run-time errors:
//! `layer 3 (LinearLayer<128, 10>): ...`.

use crate::error::Error;

/// The longest layer name shown; nested models are cut with an ellipsis.
const MAX_NAME: usize = 80;

/// A readable type name: module paths dropped, `Const<N>` shown as `N`.
pub(crate) fn short_type_name<T: ?Sized>() -> String {
    // The work is in a function that is not generic, compiled once in this crate rather
    // than once per layer type in every user's crate (issue 15).
    shorten_type_name(std::any::type_name::<T>())
}

fn shorten_type_name(full: &str) -> String {
    let mut out = String::with_capacity(full.len());
    let mut word = String::new();
    let mut chars = full.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_alphanumeric() || c == '_' {
            word.push(c);
        } else if c == ':' && chars.peek() == Some(&':') {
            chars.next();
            word.clear(); // a path segment: keep only the last one
        } else {
            out.push_str(&word);
            word.clear();
            out.push(c);
        }
    }
    out.push_str(&word);
    let mut shown = strip_const(&out);
    if shown.chars().count() > MAX_NAME {
        shown = shown.chars().take(MAX_NAME - 3).collect::<String>() + "...";
    }
    shown
}

/// `Const<128>` -> `128`.
fn strip_const(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(i) = rest.find("Const<") {
        let after = &rest[i + "Const<".len()..];
        let digits = after.chars().take_while(char::is_ascii_digit).count();
        let boundary = i == 0 || !rest[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_');
        if boundary && digits > 0 && after[digits..].starts_with('>') {
            out.push_str(&rest[..i]);
            out.push_str(&after[..digits]);
            rest = &after[digits + 1..];
        } else {
            out.push_str(&rest[..i + "Const<".len()]);
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// `e`, said to come from layer `index` (of type `M`) of a tuple model.
pub(crate) fn at_layer<M: ?Sized>(e: Error, index: usize) -> Error {
    at_place(e, format!("layer {index} ({})", short_type_name::<M>()))
}

/// `e`, said to come from the layer in field `field` (of type `M`) of a struct deriving
/// `Module`: `layer `fc2` (LinearLayer<128, 10>): ...`.
#[doc(hidden)]
pub fn at_field<M: ?Sized>(e: Error, field: &str) -> Error {
    at_place(e, format!("layer `{field}` ({})", short_type_name::<M>()))
}

fn at_place(e: Error, place: String) -> Error {
    match e {
        Error::Shape { op, message } => Error::Shape {
            op,
            message: format!("{place}: {message}"),
        },
        Error::Length {
            what,
            expected,
            got,
        } => Error::Length {
            what: format!("{place}: {what}"),
            expected,
            got,
        },
        Error::Value { what, message } => Error::Value {
            what: format!("{place}: {what}"),
            message,
        },
        Error::Format { what, message } => Error::Format {
            what: format!("{place}: {what}"),
            message,
        },
        other => other,
    }
}
