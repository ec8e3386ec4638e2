//! The SCIM attributes roster reads from a User resource and a ListResponse, decoded
//! in one pass from the wire or from a parsed value, with attribute names matched
//! case-insensitively (RFC 7643 §2.1). Every other attribute is skipped unread, so a
//! 100,000-user read builds no JSON tree when it keeps no resource for a PUT.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::contract::SCIM_EXTENSION;

/// A leaf value as roster reads it: text (a number becomes its digits), a boolean, or
/// anything else, which reads as absent.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Scalar {
    /// A string, or a number written as one.
    Text(String),
    /// A boolean.
    Bool(bool),
    /// Null, an object or a list.
    #[default]
    Other,
}

impl Scalar {
    /// The text, if the value was a string or a number.
    pub fn into_text(self) -> Option<String> {
        match self {
            Scalar::Text(s) => Some(s),
            _ => None,
        }
    }
}

impl<'de> de::Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Scalar, E> {
                Ok(Scalar::Text(s.to_string()))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<Scalar, E> {
                Ok(Scalar::Text(s))
            }
            fn visit_bool<E: de::Error>(self, b: bool) -> Result<Scalar, E> {
                Ok(Scalar::Bool(b))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Scalar, E> {
                Ok(Scalar::Text(n.to_string()))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Scalar, E> {
                Ok(Scalar::Text(n.to_string()))
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<Scalar, E> {
                Ok(Scalar::Text(n.to_string()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Scalar, E> {
                Ok(Scalar::Other)
            }
            fn visit_none<E: de::Error>(self) -> Result<Scalar, E> {
                Ok(Scalar::Other)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Scalar, D::Error> {
                d.deserialize_any(V)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Scalar, A::Error> {
                while a.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Scalar, A::Error> {
                while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other)
            }
        }
        d.deserialize_any(V)
    }
}

/// An object key, as the position of the wanted name it matches (ignoring ASCII case).
struct KeyOf<'a>(&'a [&'a str]);

impl<'de> DeserializeSeed<'de> for KeyOf<'_> {
    type Value = Option<usize>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<usize>, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for KeyOf<'_> {
    type Value = Option<usize>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an attribute name")
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Option<usize>, E> {
        Ok(self.0.iter().position(|w| w.eq_ignore_ascii_case(s)))
    }
}

/// The scalar attributes `names` of one object (a complex attribute such as `name`),
/// in that order; absent ones, and anything that is not an object, read as
/// [`Scalar::Other`].
struct Picks<'a>(&'a [&'a str]);

impl<'de> DeserializeSeed<'de> for Picks<'_> {
    type Value = Vec<Scalar>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<Scalar>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Picks<'_> {
    type Value = Vec<Scalar>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Vec<Scalar>, A::Error> {
        let mut out = vec![Scalar::Other; self.0.len()];
        while let Some(key) = a.next_key_seed(KeyOf(self.0))? {
            match key {
                Some(i) => out[i] = a.next_value()?,
                None => {
                    a.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(out)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Vec<Scalar>, E> {
        Ok(vec![Scalar::Other; self.0.len()])
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Vec<Scalar>, A::Error> {
        while a.next_element::<IgnoredAny>()?.is_some() {}
        self.visit_unit()
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Vec<Scalar>, E> {
        self.visit_unit()
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Vec<Scalar>, E> {
        self.visit_unit()
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Vec<Scalar>, E> {
        self.visit_unit()
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Vec<Scalar>, E> {
        self.visit_unit()
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Vec<Scalar>, E> {
        self.visit_unit()
    }
}

/// The attributes of a User resource that roster reads (doc:
/// https://docs.talkdesk.com/docs/scim-api).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resource {
    /// `id` (a string, or a number read as its digits).
    pub id: Scalar,
    /// `userName`, the email.
    pub user_name: Scalar,
    /// `name.givenName`, `name.familyName`, `name.formatted`.
    pub name: [Scalar; 3],
    /// `active`.
    pub active: Scalar,
    /// `externalId`.
    pub external_id: Scalar,
    /// `meta.version`.
    pub version: Scalar,
    /// The Talkdesk extension's `rolesString` and `teamsString`.
    pub roles_teams: [Scalar; 2],
}

impl Resource {
    /// Whether it has the `id` and `userName` a user needs.
    pub fn identified(&self) -> bool {
        matches!(
            (&self.id, &self.user_name),
            (Scalar::Text(_), Scalar::Text(_))
        )
    }
}

/// Top-level attributes of a User resource, in the order [`Resource`] reads them.
const TOP: [&str; 7] = [
    "id",
    "userName",
    "name",
    "active",
    "externalId",
    "meta",
    SCIM_EXTENSION,
];

fn three(v: Vec<Scalar>) -> [Scalar; 3] {
    let mut it = v.into_iter();
    std::array::from_fn(|_| it.next().unwrap_or_default())
}

impl<'de> Visitor<'de> for &mut Resource {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a SCIM User resource")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<(), A::Error> {
        while let Some(key) = a.next_key_seed(KeyOf(&TOP))? {
            match key {
                Some(0) => self.id = a.next_value()?,
                Some(1) => self.user_name = a.next_value()?,
                Some(2) => {
                    self.name = three(a.next_value_seed(Picks(&[
                        "givenName",
                        "familyName",
                        "formatted",
                    ]))?)
                }
                Some(3) => self.active = a.next_value()?,
                Some(4) => self.external_id = a.next_value()?,
                Some(5) => {
                    let [v, ..] = three(a.next_value_seed(Picks(&["version"]))?);
                    self.version = v;
                }
                Some(_) => {
                    let [r, t, _] =
                        three(a.next_value_seed(Picks(&["rolesString", "teamsString"]))?);
                    self.roles_teams = [r, t];
                }
                None => {
                    a.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

impl<'de> de::Deserialize<'de> for Resource {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut r = Resource::default();
        d.deserialize_map(&mut r)?;
        Ok(r)
    }
}

/// A ListResponse page: `totalResults` and the `Resources` (absent or null when
/// there are none, as RFC 7644 allows), each as `T`.
#[derive(Debug)]
pub struct ListResponse<T> {
    /// `totalResults`, when it is a whole number.
    pub total: Option<usize>,
    /// `Resources`, or None when present but not a list.
    pub resources: Option<Vec<T>>,
}

impl<'de, T: de::Deserialize<'de>> de::Deserialize<'de> for ListResponse<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: de::Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = ListResponse<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a SCIM ListResponse")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
                let mut page = ListResponse {
                    total: None,
                    resources: Some(Vec::new()),
                };
                while let Some(key) = a.next_key_seed(KeyOf(&["totalResults", "Resources"]))? {
                    match key {
                        Some(0) => {
                            page.total = match a.next_value()? {
                                Scalar::Text(t) => t.parse().ok(),
                                _ => None,
                            }
                        }
                        Some(_) => page.resources = a.next_value::<Listed<T>>()?.0,
                        None => {
                            a.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(page)
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

/// `Resources` as sent: a list, or null (no resources); None for anything else, an
/// error for the caller to report.
struct Listed<T>(Option<Vec<T>>);

impl<'de, T: de::Deserialize<'de>> de::Deserialize<'de> for Listed<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: de::Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Listed<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of resources")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Listed<T>, A::Error> {
                let mut out = Vec::with_capacity(a.size_hint().unwrap_or(0));
                while let Some(item) = a.next_element()? {
                    out.push(item);
                }
                Ok(Listed(Some(out)))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Listed<T>, E> {
                Ok(Listed(Some(Vec::new())))
            }
            fn visit_none<E: de::Error>(self) -> Result<Listed<T>, E> {
                self.visit_unit()
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Listed<T>, D::Error> {
                d.deserialize_any(self)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Listed<T>, A::Error> {
                while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Listed(None))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Listed<T>, E> {
                Ok(Listed(None))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Listed<T>, E> {
                Ok(Listed(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Listed<T>, E> {
                Ok(Listed(None))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Listed<T>, E> {
                Ok(Listed(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Listed<T>, E> {
                Ok(Listed(None))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}
