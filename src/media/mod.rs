//! Uploaded media (attachments): content-addressed files under `DATA_DIR/media`, named by the
//! SHA-256 of their bytes, and short-lived signed download links. The records (`ME…`) live in
//! the store; this module owns only the bytes. [`limits`] says what each channel accepts;
//! [`remote`] fetches media a provider hosts (inbound MMS/WhatsApp) into the same files.
//!
//! Never: acknowledge an upload before its file is fsynced and renamed into place, hold a whole
//! file in memory, or serve a file without an authenticated caller or a valid signed link.

pub mod limits;
pub mod remote;

use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::error::ApiError;
use crate::ids::{MediaSid, random_hex32};
use crate::store::records::Timestamp;

/// Where media bytes live.
pub struct MediaFiles {
    root: PathBuf,
}

impl MediaFiles {
    /// The media directory under `data_dir` (created if missing).
    pub fn open(data_dir: &Path) -> std::io::Result<MediaFiles> {
        let root = data_dir.join("media");
        std::fs::create_dir_all(root.join("tmp"))?;
        Ok(MediaFiles { root })
    }

    /// The file holding content with this hash.
    pub fn path(&self, sha256: &str) -> PathBuf {
        let shard = sha256.get(..2).unwrap_or("00");
        self.root.join(shard).join(sha256)
    }

    /// Writes an upload durably and returns its hash and size; refuses more than `limit`
    /// bytes. Identical content is stored once.
    pub async fn write<E: std::fmt::Display>(
        &self,
        mut body: impl Stream<Item = Result<Bytes, E>> + Unpin,
        limit: u64,
    ) -> Result<(String, u64), ApiError> {
        let tmp = self.root.join("tmp").join(random_hex32());
        let internal = |e: std::io::Error| {
            tracing::error!(error = %e, "writing media failed");
            ApiError::Internal
        };
        let mut file = tokio::fs::File::create(&tmp).await.map_err(internal)?;
        let mut hash = Sha256::new();
        let mut size = 0u64;
        let outcome = async {
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(|e| ApiError::invalid("body", e))?;
                size += chunk.len() as u64;
                if size > limit {
                    return Err(ApiError::PayloadTooLarge(limit as usize));
                }
                hash.update(&chunk);
                file.write_all(&chunk).await.map_err(internal)?;
            }
            if size == 0 {
                return Err(ApiError::invalid("body", "is empty"));
            }
            file.sync_all().await.map_err(internal)?;
            Ok(())
        }
        .await;
        drop(file);
        if let Err(e) = outcome {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(e);
        }
        let sha256 = hex::encode(hash.finalize());
        let path = self.path(&sha256);
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        tokio::fs::create_dir_all(&dir).await.map_err(internal)?;
        tokio::fs::rename(&tmp, &path).await.map_err(internal)?;
        // The rename is durable once the directory is synced.
        let sync_dir = tokio::task::spawn_blocking(move || std::fs::File::open(&dir)?.sync_all());
        sync_dir
            .await
            .map_err(|_| ApiError::Internal)?
            .map_err(internal)?;
        Ok((sha256, size))
    }
}

#[derive(Serialize, Deserialize)]
struct LinkClaims {
    sub: String,
    exp: Timestamp,
}

/// A download token for `sid` valid until `expires`, signed with `secret`.
pub fn sign_link(secret: &str, sid: &MediaSid, expires: Timestamp) -> String {
    let claims = LinkClaims {
        sub: sid.to_string(),
        exp: expires,
    };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap_or_default()
}

/// Whether `token` is a valid, unexpired download token for `sid`.
pub fn check_link(secret: &str, sid: &MediaSid, token: &str) -> bool {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 0;
    validation.required_spec_claims = ["exp".to_owned(), "sub".to_owned()].into_iter().collect();
    jsonwebtoken::decode::<LinkClaims>(
        token,
        &DecodingKey::from_secret(secret.as_bytes()),
        &validation,
    )
    .is_ok_and(|data| data.claims.sub == sid.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::records::now;

    #[tokio::test]
    async fn uploads_are_content_addressed_and_limited() {
        let dir = tempfile::tempdir().expect("tmp");
        let files = MediaFiles::open(dir.path()).expect("open");
        let chunks = || {
            futures_util::stream::iter(vec![
                Ok::<_, std::io::Error>(Bytes::from_static(b"hello ")),
                Ok(Bytes::from_static(b"world")),
            ])
        };
        let (hash, size) = files.write(chunks(), 1024).await.expect("written");
        assert_eq!(size, 11);
        assert_eq!(
            hash,
            "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"
        );
        assert_eq!(
            std::fs::read(files.path(&hash)).expect("file"),
            b"hello world"
        );
        let again = files.write(chunks(), 1024).await.expect("written again");
        assert_eq!(again.0, hash);
        assert!(matches!(
            files.write(chunks(), 5).await,
            Err(ApiError::PayloadTooLarge(5))
        ));
        let leftovers = std::fs::read_dir(dir.path().join("media/tmp"))
            .expect("tmp")
            .count();
        assert_eq!(leftovers, 0, "refused uploads leave nothing behind");
    }

    #[test]
    fn links_expire_and_name_one_media() {
        let sid = MediaSid::generate();
        let link = sign_link("secret", &sid, now() + 60);
        assert!(check_link("secret", &sid, &link));
        assert!(!check_link("other", &sid, &link));
        assert!(!check_link("secret", &MediaSid::generate(), &link));
        assert!(!check_link(
            "secret",
            &sid,
            &sign_link("secret", &sid, now() - 1)
        ));
    }
}
