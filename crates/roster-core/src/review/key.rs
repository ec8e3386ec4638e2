//! The approval key: an HMAC-SHA256 key that only the default branch's jobs can read
//! (a secret of a GitHub environment whose deployments are limited to that branch). It
//! signs approvals and keys the short hashes that stand in for masked values.

use ring::hmac;

use crate::secret::Secret;

/// The environment variable that carries the key.
pub const APPROVAL_KEY_VAR: &str = "ROSTER_APPROVAL_KEY";

/// Fewest bytes a key may have: a shorter one could be guessed offline from a signed
/// comment.
const MIN_KEY_BYTES: usize = 32;

/// The approval key, as read from [`APPROVAL_KEY_VAR`].
pub struct ApprovalKey {
    key: hmac::Key,
}

impl std::fmt::Debug for ApprovalKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApprovalKey(..)")
    }
}

/// Why no key is at hand.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The variable is unset or empty.
    #[error(
        "{APPROVAL_KEY_VAR} is not set: only a job that can read the approval key (a secret of an environment limited to the default branch) can approve or verify a plan"
    )]
    Missing,
    /// The variable holds too few bytes.
    #[error(
        "{APPROVAL_KEY_VAR} is too short ({0} bytes): use at least {MIN_KEY_BYTES} random bytes, for example `openssl rand -hex 32`"
    )]
    Short(usize),
}

impl ApprovalKey {
    /// A key from its secret text.
    pub fn new(secret: &Secret) -> Result<ApprovalKey, KeyError> {
        let bytes = secret.expose().trim().as_bytes();
        if bytes.is_empty() {
            return Err(KeyError::Missing);
        }
        if bytes.len() < MIN_KEY_BYTES {
            return Err(KeyError::Short(bytes.len()));
        }
        Ok(ApprovalKey {
            key: hmac::Key::new(hmac::HMAC_SHA256, bytes),
        })
    }

    /// The full HMAC-SHA256 of `message` under `domain` (a label that keeps a tag made
    /// for one purpose from being valid for another), as lowercase hex.
    pub fn sign(&self, domain: &str, message: &[u8]) -> String {
        hex::encode(self.tag(domain, message).as_ref())
    }

    /// Whether `signature` (lowercase hex) is [`ApprovalKey::sign`] of `message`,
    /// compared in constant time.
    pub fn verify(&self, domain: &str, message: &[u8], signature: &str) -> bool {
        let Ok(signature) = hex::decode(signature) else {
            return false;
        };
        hmac::verify(&self.key, &framed(domain, message), &signature).is_ok()
    }

    /// A short keyed hash of `value` (16 hex digits): stands for a value without
    /// letting anyone without the key test guesses against it.
    pub fn short(&self, domain: &str, value: &[u8]) -> String {
        let mut hex = self.sign(domain, value);
        hex.truncate(16);
        hex
    }

    fn tag(&self, domain: &str, message: &[u8]) -> hmac::Tag {
        hmac::sign(&self.key, &framed(domain, message))
    }
}

/// `domain`, a NUL, then the message: no message of one domain reads as another's.
fn framed(domain: &str, message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(domain.len() + 1 + message.len());
    out.extend_from_slice(domain.as_bytes());
    out.push(0);
    out.extend_from_slice(message);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &str) -> ApprovalKey {
        ApprovalKey::new(&Secret::new(text.to_string())).unwrap()
    }

    #[test]
    fn a_signature_verifies_only_under_its_key_domain_and_message() {
        let k = key("0123456789abcdef0123456789abcdef");
        let sig = k.sign("approval", b"create a@acme.example");
        assert!(k.verify("approval", b"create a@acme.example", &sig));
        assert!(!k.verify("approval", b"create b@acme.example", &sig));
        assert!(!k.verify("mask", b"create a@acme.example", &sig));
        assert!(!k.verify("approval", b"create a@acme.example", "zz"));
        let other = key("fedcba9876543210fedcba9876543210");
        assert!(!other.verify("approval", b"create a@acme.example", &sig));
        assert_eq!(k.short("mask", b"x").len(), 16);
    }

    #[test]
    fn a_missing_or_short_key_is_refused_with_what_to_do() {
        let err = |t: &str| ApprovalKey::new(&Secret::new(t.to_string())).unwrap_err();
        assert_eq!(err(""), KeyError::Missing);
        assert_eq!(err("  \n"), KeyError::Missing);
        assert_eq!(err("s3cr3t"), KeyError::Short(6));
        let message = err("s3cr3t").to_string();
        assert!(message.contains("openssl rand -hex 32"), "{message}");
        assert!(
            !message.contains("s3cr3t"),
            "the key is never shown: {message}"
        );
    }
}
