//! The S3 side of the search indexes: one bucket, each merchant's files under `indexes/<merchant>/`, each
//! call's outcome as the protocol needs it (a lost race is an answer, not an error).
//!
//! Missing objects: S3 answers 404 only to a caller that may also list the bucket (`s3:ListBucket`);
//! without it a missing key is `403 AccessDenied`, which we report as a failure, never as "no index"
//! (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html, "Permissions"). Hence every role
//! that reads indexes is granted `s3:ListBucket` on the bucket.

use std::path::Path;
use std::time::{Duration, SystemTime};

use aws_sdk_s3::Client;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{Tag, Tagging};
use futures::StreamExt;
use tokio::io::AsyncWriteExt;

use crate::sdk_error::{OperationError, code, describe, is_transient};
use pivota::ports::SearchError;

/// The tag the bucket's lifecycle rule expires objects by (`template.yaml`, `SearchIndexBucket`).
pub const OBSOLETE_TAG: (&str, &str) = ("pivota-obsolete", "true");
/// How many objects one index moves at once (downloads, uploads, tags).
pub(super) const PARALLEL_TRANSFERS: usize = 8;

#[derive(Clone, Debug)]
pub(super) struct IndexBucket {
    client: Client,
    name: String,
}

/// `meta.json` as read by a holder of `known` (its ETag).
pub(super) enum MetaRead {
    /// Still the one the caller holds (`304 Not Modified`).
    Unchanged,
    /// No index yet.
    Absent,
    Current {
        etag: String,
        bytes: Vec<u8>,
    },
}

/// A conditional write's outcome.
pub(super) enum Written {
    Done {
        etag: String,
    },
    /// The condition failed: another writer got there first.
    Lost,
}

/// An object found where this writer meant to create one.
pub(super) struct Occupant {
    pub etag: String,
    pub last_modified: Option<SystemTime>,
    pub obsolete: bool,
}

impl IndexBucket {
    pub fn new(client: Client, name: String) -> Self {
        Self { client, name }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// `GetObject` with `If-None-Match: <known>`: S3 answers 304 when the ETag still matches
    /// (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html, `If-None-Match`).
    pub async fn read_meta(&self, key: &str, known: Option<&str>) -> Result<MetaRead, SearchError> {
        let output = match self
            .client
            .get_object()
            .bucket(&self.name)
            .key(key)
            .set_if_none_match(known.map(str::to_owned))
            .send()
            .await
        {
            Ok(output) => output,
            Err(err) if status(&err) == Some(304) => return Ok(MetaRead::Unchanged),
            Err(err) if err.as_service_error().is_some_and(|e| e.is_no_such_key()) => return Ok(MetaRead::Absent),
            Err(err) => return Err(search_error("GetObject", &err)),
        };
        let etag = output.e_tag.ok_or_else(|| SearchError::Other(format!("GetObject {key} returned no ETag")))?;
        let bytes = output.body.collect().await.map_err(|err| transient("reading meta.json", err))?.to_vec();
        Ok(MetaRead::Current { etag, bytes })
    }

    /// Streams the object into `to` (a temporary name, renamed once complete, so a file in the cache is
    /// always whole). `false`: no such object.
    pub async fn download(&self, key: &str, to: &Path) -> Result<bool, SearchError> {
        let output = match self.client.get_object().bucket(&self.name).key(key).send().await {
            Ok(output) => output,
            Err(err) if err.as_service_error().is_some_and(|e| e.is_no_such_key()) => return Ok(false),
            Err(err) => return Err(search_error("GetObject", &err)),
        };
        let mut partial = to.as_os_str().to_owned();
        partial.push(format!(".part-{:08x}", rand::random::<u32>()));
        let partial = std::path::PathBuf::from(partial);
        let written = async {
            let mut file = tokio::fs::File::create(&partial).await.map_err(local)?;
            let mut body = output.body;
            while let Some(chunk) = body.try_next().await.map_err(|err| transient("reading an index file", err))? {
                file.write_all(&chunk).await.map_err(local)?;
            }
            file.flush().await.map_err(local)?;
            tokio::fs::rename(&partial, to).await.map_err(local)
        }
        .await;
        if written.is_err() {
            let _ = tokio::fs::remove_file(&partial).await;
        }
        written.map(|()| true)
    }

    /// Creates the object from a file, only if the key is free (`If-None-Match: *`).
    pub async fn create(&self, key: &str, from: &Path) -> Result<Written, SearchError> {
        self.put_file(key, from, None).await
    }

    /// Replaces the object from a file, only if it is still the one with this ETag (`If-Match`).
    pub async fn replace(&self, key: &str, from: &Path, etag: &str) -> Result<Written, SearchError> {
        self.put_file(key, from, Some(etag)).await
    }

    async fn put_file(&self, key: &str, from: &Path, if_match: Option<&str>) -> Result<Written, SearchError> {
        let body = ByteStream::from_path(from)
            .await
            .map_err(|err| SearchError::Other(format!("reading {}: {err}", from.display())))?;
        let request = self.client.put_object().bucket(&self.name).key(key).body(body);
        let request = match if_match {
            Some(etag) => request.if_match(etag),
            None => request.if_none_match("*"),
        };
        written(request.send().await.map(|output| output.e_tag))
    }

    /// Publishes `meta.json` over the commit with ETag `over` (`If-Match`), or as the first commit
    /// (`If-None-Match: *`). S3 checks the condition and writes atomically: of two writers that read the
    /// same ETag, one gets `412 Precondition Failed` (`409 ConditionalRequestConflict` when both are in
    /// flight at once) (https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html).
    pub async fn publish_meta(&self, key: &str, bytes: Vec<u8>, over: Option<&str>) -> Result<Written, SearchError> {
        let request = self.client.put_object().bucket(&self.name).key(key).body(ByteStream::from(bytes));
        let request = match over {
            Some(etag) => request.if_match(etag),
            None => request.if_none_match("*"),
        };
        written(request.send().await.map(|output| output.e_tag))
    }

    /// What holds the key: its ETag, age, and whether a writer gave it up (`None`: nothing any more).
    pub async fn occupant(&self, key: &str) -> Result<Option<Occupant>, SearchError> {
        let head = match self.client.head_object().bucket(&self.name).key(key).send().await {
            Ok(head) => head,
            Err(err) if err.as_service_error().is_some_and(|e| e.is_not_found()) => return Ok(None),
            Err(err) => return Err(search_error("HeadObject", &err)),
        };
        let etag = head.e_tag.ok_or_else(|| SearchError::Other(format!("HeadObject {key} returned no ETag")))?;
        let last_modified = head.last_modified.and_then(|at| SystemTime::try_from(at).ok());
        let tags = match self.client.get_object_tagging().bucket(&self.name).key(key).send().await {
            Ok(tags) => tags.tag_set,
            Err(err) if code(&err) == Some("NoSuchKey") => return Ok(None),
            Err(err) => return Err(search_error("GetObjectTagging", &err)),
        };
        let obsolete = tags.iter().any(|tag| (tag.key(), tag.value()) == OBSOLETE_TAG);
        Ok(Some(Occupant { etag, last_modified, obsolete }))
    }

    /// Tags each object obsolete, for the lifecycle rule to expire. Best effort: an object left untagged
    /// only costs storage, so failures are logged, not returned.
    pub async fn tag_obsolete(&self, keys: Vec<String>) {
        let tagging = match Tag::builder().key(OBSOLETE_TAG.0).value(OBSOLETE_TAG.1).build() {
            Ok(tag) => Tagging::builder().tag_set(tag).build(),
            Err(err) => Err(err),
        };
        let Ok(tagging) = tagging else { return };
        futures::stream::iter(keys)
            .for_each_concurrent(PARALLEL_TRANSFERS, |key| {
                let request = self.client.put_object_tagging().bucket(&self.name).key(&key).tagging(tagging.clone());
                async move {
                    if let Err(err) = request.send().await {
                        tracing::warn!(bucket = %self.name, %key, error = %describe("PutObjectTagging", &err), "an obsolete index file stays untagged");
                    }
                }
            })
            .await;
    }
}

/// Has an object outlived any writer that could still publish it? A writer runs within one Lambda
/// invocation, at most 15 minutes (https://docs.aws.amazon.com/lambda/latest/dg/configuration-timeout.html);
/// the rest is margin for clock skew between S3 and us.
pub(super) fn outlived_its_writer(occupant: &Occupant, abandoned_after: Duration) -> bool {
    occupant
        .last_modified
        .and_then(|at| SystemTime::now().duration_since(at).ok())
        .is_some_and(|age| age > abandoned_after)
}

fn written<E: OperationError>(
    result: Result<Option<String>, SdkError<E, HttpResponse>>,
) -> Result<Written, SearchError> {
    match result {
        Ok(Some(etag)) => Ok(Written::Done { etag }),
        Ok(None) => Err(SearchError::Other("PutObject returned no ETag".into())),
        // 412: the condition failed; 409: a conflicting write was in flight; 404: `If-Match` on a key that
        // is gone. Each means another writer moved first.
        Err(err) if matches!(status(&err), Some(412 | 409 | 404)) => Ok(Written::Lost),
        Err(err) => Err(search_error("PutObject", &err)),
    }
}

fn status<E>(err: &SdkError<E, HttpResponse>) -> Option<u16> {
    err.raw_response().map(|response| response.status().as_u16())
}

fn search_error<E: OperationError>(operation: &str, err: &SdkError<E, HttpResponse>) -> SearchError {
    if is_transient(err) {
        SearchError::Transient(describe(operation, err))
    } else {
        SearchError::Other(describe(operation, err))
    }
}

fn transient(what: &str, err: impl std::fmt::Display) -> SearchError {
    SearchError::Transient(format!("{what}: {err}"))
}

/// The local cache is on Lambda's `/tmp`: failing to write it is this instance's problem, not the caller's.
pub(super) fn local(err: std::io::Error) -> SearchError {
    SearchError::Other(format!("the local index cache: {err}"))
}
