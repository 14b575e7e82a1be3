//! Just enough DER to read the public keys KMS returns (X.509
//! SubjectPublicKeyInfo) and to turn its ECDSA signatures into JOSE's
//! fixed-width form. Anything else is refused, never guessed at.

/// Why a DER value could not be read.
#[derive(Debug, thiserror::Error)]
#[error("malformed DER: {0}")]
pub struct DerError(&'static str);

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const BIT_STRING: u8 = 0x03;
const OID: u8 = 0x06;

/// rsaEncryption, 1.2.840.113549.1.1.1
const RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
/// id-ecPublicKey, 1.2.840.10045.2.1
const EC: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
/// prime256v1, 1.2.840.10045.3.1.7
const P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

/// Splits one TLV of tag `tag` off the front of `input`: (contents, rest).
fn take(input: &[u8], tag: u8) -> Result<(&[u8], &[u8]), DerError> {
    let (&t, rest) = input.split_first().ok_or(DerError("truncated"))?;
    if t != tag {
        return Err(DerError("unexpected tag"));
    }
    let (&first, rest) = rest.split_first().ok_or(DerError("truncated"))?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return Err(DerError("bad length"));
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return Err(DerError("truncated"));
    }
    Ok(rest.split_at(len))
}

/// An INTEGER's magnitude without its sign-padding zeros.
fn unsigned(int: &[u8]) -> &[u8] {
    let start = int.iter().position(|b| *b != 0).unwrap_or(int.len());
    &int[start..]
}

/// A public key read from a SubjectPublicKeyInfo.
#[derive(Debug, PartialEq, Eq)]
pub enum PublicKey {
    /// Modulus and exponent, big-endian, without leading zeros.
    Rsa { n: Vec<u8>, e: Vec<u8> },
    /// P-256 coordinates, 32 bytes each.
    P256 { x: Vec<u8>, y: Vec<u8> },
}

pub fn public_key(spki: &[u8]) -> Result<PublicKey, DerError> {
    let (info, _) = take(spki, SEQUENCE)?;
    let (algorithm, rest) = take(info, SEQUENCE)?;
    let (bits, _) = take(rest, BIT_STRING)?;
    let (&unused, key) = bits.split_first().ok_or(DerError("empty key"))?;
    if unused != 0 {
        return Err(DerError("key is not whole bytes"));
    }
    let (oid, params) = take(algorithm, OID)?;
    if oid == RSA {
        let (seq, _) = take(key, SEQUENCE)?;
        let (n, rest) = take(seq, INTEGER)?;
        let (e, _) = take(rest, INTEGER)?;
        Ok(PublicKey::Rsa {
            n: unsigned(n).to_vec(),
            e: unsigned(e).to_vec(),
        })
    } else if oid == EC {
        let (curve, _) = take(params, OID)?;
        if curve != P256 {
            return Err(DerError("only the P-256 curve is supported"));
        }
        if key.len() != 65 || key[0] != 0x04 {
            return Err(DerError("not an uncompressed P-256 point"));
        }
        Ok(PublicKey::P256 {
            x: key[1..33].to_vec(),
            y: key[33..].to_vec(),
        })
    } else {
        Err(DerError("neither an RSA nor an EC key"))
    }
}

/// An ECDSA signature `SEQUENCE { r, s }` as JOSE wants it: r || s, each
/// left-padded to `width` bytes (32 for ES256).
pub fn ecdsa_fixed(sig: &[u8], width: usize) -> Result<Vec<u8>, DerError> {
    let (seq, _) = take(sig, SEQUENCE)?;
    let (r, rest) = take(seq, INTEGER)?;
    let (s, _) = take(rest, INTEGER)?;
    let mut out = Vec::with_capacity(2 * width);
    for part in [unsigned(r), unsigned(s)] {
        if part.len() > width {
            return Err(DerError("signature part too long"));
        }
        out.extend(std::iter::repeat_n(0, width - part.len()));
        out.extend_from_slice(part);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{
        EcdsaKeyPair, KeyPair, UnparsedPublicKey, ECDSA_P256_SHA256_ASN1_SIGNING,
        ECDSA_P256_SHA256_FIXED,
    };

    #[test]
    fn ecdsa_der_signatures_become_fixed_ones_that_verify() {
        let doc =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &SystemRandom::new())
                .unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, doc.as_ref()).unwrap();
        // Enough signatures that some have a short r or s, or a padded one.
        for i in 0..64u32 {
            let msg = i.to_be_bytes();
            let der = pair.sign(&SystemRandom::new(), &msg).unwrap();
            let fixed = ecdsa_fixed(der.as_ref(), 32).unwrap();
            assert_eq!(fixed.len(), 64);
            UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, pair.public_key().as_ref())
                .verify(&msg, &fixed)
                .unwrap();
        }
        assert!(ecdsa_fixed(&[0x30, 0x05, 0x02], 32).is_err());
        assert!(ecdsa_fixed(&[], 32).is_err());
    }

    #[test]
    fn reads_rsa_and_p256_public_keys_and_refuses_others() {
        // An RSA-2048 SubjectPublicKeyInfo, as KMS's GetPublicKey returns.
        let rsa = base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAjfT2donCHAWZKI8s3ce5gbq4r86P3H6azL2Je4TbErbUoUjcKZlctpkqmGlVoVSsl2wdtxDEJo7PyLc/v6ZKhY7pouT2mr5VOXTZbBlFgoZBUhMBcGgEytkBIIZC/qy/xG/Lf9NsQkpEm86gvig8DSB0Lvb6s5HGgPMffcXhLPS9Gq35fQauhofrMATwSB4M+aprqcQWc0ne1nbMnUFJU35pfhWX/ECt3eWy8C12hEvuL98TnnMIFbFmNR3zi1PTVsuwVFfu5XuiHqhmcmuSUzqvBkZ8bKmiKndif2o8mQDXep41+YwUeR+Gd2qn26dcJETXK+XIycSRejH2DNWsZQIDAQAB",
        )
        .unwrap();
        let PublicKey::Rsa { n, e } = public_key(&rsa).unwrap() else {
            panic!("not RSA")
        };
        assert_eq!(n.len(), 256);
        assert_eq!(e, vec![1, 0, 1]);

        let doc =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &SystemRandom::new())
                .unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, doc.as_ref()).unwrap();
        let point = pair.public_key().as_ref();
        // SEQUENCE { SEQUENCE { id-ecPublicKey, prime256v1 }, BIT STRING point }
        let mut spki = vec![0x30, 0x59, 0x30, 0x13, 0x06, 0x07];
        spki.extend_from_slice(EC);
        spki.extend_from_slice(&[0x06, 0x08]);
        spki.extend_from_slice(P256);
        spki.extend_from_slice(&[0x03, 0x42, 0x00]);
        spki.extend_from_slice(point);
        assert_eq!(
            public_key(&spki).unwrap(),
            PublicKey::P256 {
                x: point[1..33].to_vec(),
                y: point[33..].to_vec()
            }
        );
        assert!(public_key(&spki[..40]).is_err(), "truncated");
        let mut other = spki.clone();
        other[8] ^= 1;
        assert!(public_key(&other).is_err(), "another algorithm");
    }
}
