//! A list's pages fetched on the async thread and decoded on a thread of their own.
//!
//! Decoding is most of a large read's work (a 100,000-user Talkdesk plan decodes about
//! 90 MB of JSON), and the async thread drives every surface's requests: each page it
//! hands over is one it need not parse before asking for the next. A bounded queue
//! between the two holds a few pages at most.

use futures_util::{StreamExt, stream};

use super::ProviderError;
use super::http::HttpClient;

/// Fetches each of `paths` in order, `concurrency` at a time, and folds every body
/// into `state` with `decode` on a blocking thread; returns the state, or the first
/// failure of either side.
pub(crate) async fn fetch_and_decode<S, D>(
    http: &HttpClient,
    paths: impl Iterator<Item = String>,
    concurrency: usize,
    mut state: S,
    mut decode: D,
) -> Result<S, ProviderError>
where
    S: Send + 'static,
    D: FnMut(&mut S, &[u8], &str) -> Result<(), ProviderError> + Send + 'static,
{
    let concurrency = concurrency.max(1);
    let (bodies, mut queued) = tokio::sync::mpsc::channel::<(Vec<u8>, String)>(concurrency);
    let decoder = tokio::task::spawn_blocking(move || {
        while let Some((bytes, path)) = queued.blocking_recv() {
            decode(&mut state, &bytes, &path)?;
        }
        Ok(state)
    });
    let mut fetched = stream::iter(paths)
        .map(|path| async move { http.get(&path).await.map(|bytes| (bytes, path)) })
        .buffered(concurrency);
    while let Some(body) = fetched.next().await {
        // A decoder that stopped has its reason in its result, below.
        if bodies.send(body?).await.is_err() {
            break;
        }
    }
    drop(bodies);
    decoder.await.map_err(|e| ProviderError::Decode {
        request: "the list's pages".into(),
        message: format!("the page decoder stopped: {e}"),
    })?
}
