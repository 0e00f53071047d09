//! `Serialize`/`Deserialize` for the checkpoint structs, written by a small macro instead of
//! serde's derive: serde_derive was the one user of serde's `derive` feature here, and it
//! sat on the longest path of a user's cold build (syn, then serde_derive, then serde, then
//! shaped; issue 15). The impls are what the derive generates: fields in declaration
//! order (so postcard bytes are unchanged), `visit_seq` for compact formats and `visit_map`
//! by field name for self-describing ones (unknown fields ignored, a missing `Option` field
//! is `None`, a missing other field or a repeated field is an error).

use super::checkpoint::{Checkpoint, NamedValues};
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeStruct, Serializer};
use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

/// A field absent from a map: `None` for an `Option`, else serde's "missing field" error.
fn missing<'de, T: Deserialize<'de>, Err: de::Error>(field: &'static str) -> Result<T, Err> {
    T::deserialize(de::value::UnitDeserializer::<Err>::new())
        .map_err(|_: Err| Err::missing_field(field))
}

macro_rules! serde_struct {
    ($name:ident { $($field:ident: $ty:ty),* $(,)? }) => {
        impl<E: Serialize> Serialize for $name<E> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                const COUNT: usize = [$(stringify!($field)),*].len();
                let mut st = s.serialize_struct(stringify!($name), COUNT)?;
                $(st.serialize_field(stringify!($field), &self.$field)?;)*
                st.end()
            }
        }

        impl<'de, E: Deserialize<'de>> Deserialize<'de> for $name<E> {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                const FIELDS: &[&str] = &[$(stringify!($field)),*];
                struct StructVisitor<E>(PhantomData<E>);
                impl<'de, E: Deserialize<'de>> Visitor<'de> for StructVisitor<E> {
                    type Value = $name<E>;

                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str(concat!("struct ", stringify!($name)))
                    }

                    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                        let mut index = 0;
                        $(
                            let $field: $ty = seq
                                .next_element()?
                                .ok_or_else(|| de::Error::invalid_length(index, &self))?;
                            index += 1;
                        )*
                        let _ = index;
                        Ok($name { $($field),* })
                    }

                    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                        $(let mut $field: Option<$ty> = None;)*
                        while let Some(key) = map.next_key::<String>()? {
                            match key.as_str() {
                                $(stringify!($field) => {
                                    if $field.is_some() {
                                        return Err(de::Error::duplicate_field(stringify!($field)));
                                    }
                                    $field = Some(map.next_value()?);
                                })*
                                _ => {
                                    map.next_value::<IgnoredAny>()?;
                                }
                            }
                        }
                        $(
                            let $field = match $field {
                                Some(v) => v,
                                None => missing(stringify!($field))?,
                            };
                        )*
                        Ok($name { $($field),* })
                    }
                }
                d.deserialize_struct(stringify!($name), FIELDS, StructVisitor(PhantomData))
            }
        }
    };
}

serde_struct!(NamedValues {
    name: String,
    dims: Vec<usize>,
    data: Vec<E>,
});

serde_struct!(Checkpoint {
    model: Vec<NamedValues<E>>,
    optimizer: Vec<(String, Vec<E>)>,
    lr: Option<f64>,
    epoch: u64,
    step: u64,
    rng: Option<Vec<u8>>,
    extra: BTreeMap<String, String>,
});

#[cfg(test)]
mod tests {
    use super::*;

    fn checkpoint() -> Checkpoint<f32> {
        Checkpoint {
            model: vec![NamedValues {
                name: "w".into(),
                dims: vec![2],
                data: vec![1.5, -2.0],
            }],
            optimizer: vec![("adam.m".into(), vec![0.25])],
            lr: Some(1e-3),
            epoch: 3,
            step: 40,
            rng: Some(vec![7; 4]),
            extra: BTreeMap::from([("seed".into(), "1".into())]),
        }
    }

    /// The bytes serde's derive gave: each field in order, postcard-encoded.
    #[test]
    fn postcard_bytes_are_the_fields_in_order() {
        let c = checkpoint();
        let fields =
            postcard::to_allocvec(&(&c.model[0].name, &c.model[0].dims, &c.model[0].data)).unwrap();
        let mut expected = vec![1u8]; // one NamedValues
        expected.extend(fields);
        expected.extend(
            postcard::to_allocvec(&(&c.optimizer, c.lr, c.epoch, c.step, &c.rng, &c.extra))
                .unwrap(),
        );
        let bytes = postcard::to_allocvec(&c).unwrap();
        assert_eq!(bytes, expected);
        assert_eq!(postcard::from_bytes::<Checkpoint<f32>>(&bytes).unwrap(), c);
        assert!(postcard::from_bytes::<Checkpoint<f32>>(&bytes[..bytes.len() - 1]).is_err());
    }

    /// By name, through a self-describing deserializer: fields in any order, unknown ones
    /// ignored, a missing `Option` is `None`, a missing other field is named.
    #[test]
    fn maps_read_fields_by_name() {
        use de::value::{Error, MapDeserializer};
        let entries = |pairs: Vec<(&'static str, &'static str)>| {
            MapDeserializer::<_, Error>::new(pairs.into_iter())
        };
        // NamedValues has no field a string can fill but `name`: check the errors.
        let err = NamedValues::<f32>::deserialize(entries(vec![("name", "w")])).unwrap_err();
        assert!(err.to_string().contains("missing field `dims`"), "{err}");
        let err = NamedValues::<f32>::deserialize(entries(vec![("name", "w"), ("name", "v")]))
            .unwrap_err();
        assert!(err.to_string().contains("duplicate field `name`"), "{err}");
        let missing_lr: Option<f64> = missing::<Option<f64>, Error>("lr").unwrap();
        assert_eq!(missing_lr, None);
        let err = missing::<u64, Error>("epoch").unwrap_err();
        assert!(err.to_string().contains("missing field `epoch`"), "{err}");
        let ignored = NamedValues::<f32>::deserialize(entries(vec![("other", "x"), ("name", "w")]))
            .unwrap_err();
        assert!(
            ignored.to_string().contains("missing field `dims`"),
            "{ignored}"
        );
    }
}
