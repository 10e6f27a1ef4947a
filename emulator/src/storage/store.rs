//! The emulated file systems: one tree for the Gen1 account and one per Gen2 filesystem (the two
//! APIs are separate accounts on Azure, so they share nothing here either).
//!
//! Metadata lives behind one mutex; file contents live in memory or, with `data_dir`, in files
//! on disk that are written from the request body as it arrives and served by streaming, so a
//! 1 GiB file never has to fit in memory. No lock is held across I/O that waits on a client.

use std::collections::BTreeMap;
use std::io::{self, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncSeekExt, AsyncWriteExt};

use crate::common::body::RequestBody;

/// A path inside a tree, as its segments; the root is the empty key. Ordering keys segment by
/// segment sorts a tree in pre-order with siblings by name, which is the listing order of both
/// APIs and makes "everything below a directory" one contiguous range.
pub(crate) type Key = Vec<String>;

/// Splits a decoded path into segments. Empty segments (`a//b`, trailing `/`) are ignored, and
/// `.`/`..` are refused: neither service resolves them.
pub(crate) fn parse_path(path: &str) -> Option<Key> {
    let mut key = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" => {}
            "." | ".." => return None,
            s => key.push(s.to_string()),
        }
    }
    Some(key)
}

pub(crate) fn display_path(key: &[String]) -> String {
    format!("/{}", key.join("/"))
}

pub(crate) struct Store {
    inner: Mutex<Inner>,
    /// `Some` with `data_dir`: where file contents go. Removed when the store is dropped.
    disk: Option<tempfile::TempDir>,
    next_id: AtomicU64,
    next_etag: AtomicU64,
}

pub(crate) struct Inner {
    pub gen1: Tree,
    pub filesystems: BTreeMap<String, Filesystem>,
    /// Blocks put (Blob API, Put Block) and not yet committed, by file system and path, then
    /// block id: invisible until a Put Block List makes a file of them.
    pub uncommitted: BTreeMap<(String, Key), BTreeMap<String, Block>>,
}

/// One uncommitted block: its bytes, in memory or in a file of the data folder.
pub(crate) struct Block {
    pub content: Content,
    pub len: u64,
}

pub(crate) struct Filesystem {
    pub tree: Tree,
    pub etag: u64,
    pub modified: SystemTime,
}

impl Store {
    pub(crate) fn new(data_dir: Option<&Path>, filesystems: &[String]) -> io::Result<Store> {
        let disk = match data_dir {
            Some(dir) => {
                std::fs::create_dir_all(dir)?;
                Some(
                    tempfile::Builder::new()
                        .prefix("azmi-emulator-data-")
                        .tempdir_in(dir)?,
                )
            }
            None => None,
        };
        // Etags look like Storage's (`0x8DB…`) and only ever grow.
        let etag_base = crate::common::util::epoch_duration(SystemTime::now()).as_micros() as u64;
        let store = Store {
            inner: Mutex::new(Inner {
                gen1: Tree::new(Node::dir("$superuser", "$superuser", GEN1_PERMISSION, 0)),
                filesystems: BTreeMap::new(),
                uncommitted: BTreeMap::new(),
            }),
            disk,
            next_id: AtomicU64::new(1),
            next_etag: AtomicU64::new(etag_base),
        };
        for name in filesystems {
            let etag = store.next_etag();
            store
                .lock()
                .filesystems
                .insert(name.clone(), Filesystem::new(etag, store.next_etag()));
        }
        Ok(store)
    }

    /// A poisoned lock still holds consistent data (updates are completed before any code that
    /// could panic), so poisoning is ignored.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn next_etag(&self) -> u64 {
        self.next_etag.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Empty content for a new file: in memory, or a new file in the data folder.
    pub(crate) fn new_content(&self) -> io::Result<Content> {
        match &self.disk {
            None => Ok(Content::Memory {
                chunks: Vec::new(),
                staged: BTreeMap::new(),
            }),
            Some(dir) => {
                let path = dir.path().join(format!("blob-{}", self.next_id()));
                std::fs::File::create(&path)?;
                Ok(Content::Disk {
                    blob: Arc::new(DiskBlob {
                        path,
                        write_lock: tokio::sync::Mutex::new(()),
                    }),
                    staged: BTreeMap::new(),
                })
            }
        }
    }
}

impl Store {
    /// New content made of `parts` in order (a Put Block List): in memory the chunks are
    /// shared, on disk the bytes are copied into a new file. Returns it with its length.
    pub(crate) async fn concatenate(&self, parts: Vec<ReadSource>) -> io::Result<(Content, u64)> {
        let mut content = self.new_content()?;
        let mut total = 0u64;
        match &mut content {
            Content::Memory { chunks, .. } => {
                for part in parts {
                    match part {
                        ReadSource::Memory(data) => {
                            total += data.iter().map(|c| c.len() as u64).sum::<u64>();
                            chunks.extend(data.into_iter().filter(|c| !c.is_empty()));
                        }
                        ReadSource::Disk { .. } => {
                            return Err(io::Error::other("a block on disk for a file in memory"))
                        }
                    }
                }
            }
            Content::Disk { blob, .. } => {
                let mut out = tokio::fs::OpenOptions::new()
                    .write(true)
                    .open(&blob.path)
                    .await?;
                for part in parts {
                    match part {
                        ReadSource::Memory(data) => {
                            for chunk in data {
                                total += chunk.len() as u64;
                                out.write_all(&chunk).await?;
                            }
                        }
                        ReadSource::Disk { file, len, .. } => {
                            let mut source =
                                tokio::io::AsyncReadExt::take(tokio::fs::File::from_std(file), len);
                            let copied = tokio::io::copy(&mut source, &mut out).await?;
                            if copied != len {
                                return Err(io::Error::other("a block ended early"));
                            }
                            total += len;
                        }
                    }
                }
                out.flush().await?;
            }
        }
        Ok((content, total))
    }
}

impl Filesystem {
    pub(crate) fn new(etag: u64, root_etag: u64) -> Self {
        Filesystem {
            tree: Tree::new(Node::dir(
                "$superuser",
                "$superuser",
                DIR_PERMISSIONS,
                root_etag,
            )),
            etag,
            modified: SystemTime::now(),
        }
    }
}

/// Gen1 reports every item as `770`.
pub(crate) const GEN1_PERMISSION: &str = "770";
/// Gen2 defaults: 0777 and 0666 under the default umask 0027.
pub(crate) const DIR_PERMISSIONS: &str = "rwxr-x---";
pub(crate) const FILE_PERMISSIONS: &str = "rw-r-----";

pub(crate) struct Node {
    pub kind: Kind,
    pub owner: String,
    pub group: String,
    pub permissions: String,
    pub created: SystemTime,
    pub modified: SystemTime,
    pub etag: u64,
    pub content_type: Option<String>,
}

pub(crate) enum Kind {
    Dir,
    File(FileData),
}

pub(crate) struct FileData {
    /// Unique per created file, so a write that raced with an overwrite or delete notices.
    pub id: u64,
    /// Committed (readable) length.
    pub len: u64,
    pub content: Content,
}

impl Node {
    pub(crate) fn dir(owner: &str, group: &str, permissions: &str, etag: u64) -> Node {
        let now = SystemTime::now();
        Node {
            kind: Kind::Dir,
            owner: owner.to_string(),
            group: group.to_string(),
            permissions: permissions.to_string(),
            created: now,
            modified: now,
            etag,
            content_type: None,
        }
    }

    pub(crate) fn new_file(
        owner: &str,
        group: &str,
        permissions: &str,
        etag: u64,
        data: FileData,
    ) -> Node {
        Node {
            kind: Kind::File(data),
            ..Node::dir(owner, group, permissions, etag)
        }
    }

    pub(crate) fn is_dir(&self) -> bool {
        matches!(self.kind, Kind::Dir)
    }

    /// Readable length (0 for directories).
    pub(crate) fn len(&self) -> u64 {
        match &self.kind {
            Kind::Dir => 0,
            Kind::File(f) => f.len,
        }
    }

    pub(crate) fn file_mut(&mut self) -> Option<&mut FileData> {
        match &mut self.kind {
            Kind::Dir => None,
            Kind::File(f) => Some(f),
        }
    }

    pub(crate) fn file(&self) -> Option<&FileData> {
        match &self.kind {
            Kind::Dir => None,
            Kind::File(f) => Some(f),
        }
    }

    /// Records a change: new etag and modification time.
    pub(crate) fn touch(&mut self, etag: u64) {
        self.etag = etag;
        self.modified = SystemTime::now();
    }
}

/// Storage's ETag form: quoted in headers, bare in Gen2 listings.
pub(crate) fn etag_text(etag: u64) -> String {
    format!("0x8D{:013X}", etag & 0x000F_FFFF_FFFF_FFFF)
}

pub(crate) struct Tree {
    nodes: BTreeMap<Key, Node>,
}

impl Tree {
    pub(crate) fn new(root: Node) -> Tree {
        let mut nodes = BTreeMap::new();
        nodes.insert(Vec::new(), root);
        Tree { nodes }
    }

    pub(crate) fn get(&self, key: &[String]) -> Option<&Node> {
        self.nodes.get(key)
    }

    pub(crate) fn get_mut(&mut self, key: &[String]) -> Option<&mut Node> {
        self.nodes.get_mut(key)
    }

    /// Everything strictly below `key`, in listing order.
    pub(crate) fn descendants<'a>(
        &'a self,
        key: &'a [String],
    ) -> impl Iterator<Item = (&'a Key, &'a Node)> + 'a {
        self.nodes
            .range(key.to_vec()..)
            .take_while(move |(k, _)| k.starts_with(key))
            .filter(move |(k, _)| k.len() > key.len())
    }

    /// The direct children of `key`, sorted by name.
    pub(crate) fn children<'a>(
        &'a self,
        key: &'a [String],
    ) -> impl Iterator<Item = (&'a Key, &'a Node)> + 'a {
        self.descendants(key)
            .filter(move |(k, _)| k.len() == key.len() + 1)
    }

    pub(crate) fn has_children(&self, key: &[String]) -> bool {
        self.descendants(key).next().is_some()
    }

    /// The nearest ancestor of `key` that exists and is a file, if any: such a path cannot be
    /// created.
    pub(crate) fn file_ancestor(&self, key: &[String]) -> Option<Key> {
        (1..key.len())
            .map(|n| &key[..n])
            .find(|prefix| self.nodes.get(*prefix).is_some_and(|n| !n.is_dir()))
            .map(|prefix| prefix.to_vec())
    }

    /// Whether every ancestor of `key` exists (as a directory).
    pub(crate) fn parent_exists(&self, key: &[String]) -> bool {
        match key.split_last() {
            None => true,
            Some((_, parent)) => self.nodes.get(parent).is_some_and(Node::is_dir),
        }
    }

    /// Creates the missing ancestors of `key` as directories like `template`. Callers check
    /// `file_ancestor` first.
    pub(crate) fn make_parents(&mut self, key: &[String], template: impl Fn() -> Node) {
        for n in 1..key.len() {
            if !self.nodes.contains_key(&key[..n]) {
                self.nodes.insert(key[..n].to_vec(), template());
            }
        }
    }

    /// Inserts or replaces a node; returns the replaced one.
    pub(crate) fn insert(&mut self, key: Key, node: Node) -> Option<Node> {
        self.nodes.insert(key, node)
    }

    /// Removes `key` and everything below it (the root itself is never removed, only emptied).
    pub(crate) fn remove_subtree(&mut self, key: &[String]) -> Vec<Node> {
        let keys: Vec<Key> = self
            .nodes
            .range(key.to_vec()..)
            .take_while(|(k, _)| k.starts_with(key))
            .filter(|(k, _)| !k.is_empty())
            .map(|(k, _)| k.clone())
            .collect();
        keys.iter().filter_map(|k| self.nodes.remove(k)).collect()
    }

    /// Moves `from` and everything below it to `to`. Callers check that `to` is free and not
    /// inside `from`.
    pub(crate) fn move_subtree(&mut self, from: &[String], to: &[String]) {
        let keys: Vec<Key> = self
            .nodes
            .range(from.to_vec()..)
            .take_while(|(k, _)| k.starts_with(from))
            .map(|(k, _)| k.clone())
            .collect();
        for old in keys {
            if let Some(node) = self.nodes.remove(&old) {
                let mut new = to.to_vec();
                new.extend_from_slice(&old[from.len()..]);
                self.nodes.insert(new, node);
            }
        }
    }

    /// Marks the parent directory of `key` changed (a child was added or removed).
    pub(crate) fn touch_parent(&mut self, key: &[String], etag: u64) {
        if let Some((_, parent)) = key.split_last() {
            if let Some(node) = self.nodes.get_mut(parent) {
                node.touch(etag);
            }
        }
    }
}

/// A file's content in the data folder; the file is deleted once nothing refers to it (not the
/// tree, nor a response still streaming it).
pub(crate) struct DiskBlob {
    path: PathBuf,
    /// Serialises Gen1 appends, which write at the current end of the file.
    pub write_lock: tokio::sync::Mutex<()>,
}

impl Drop for DiskBlob {
    fn drop(&mut self) {
        // Best effort: on Windows a file still open elsewhere cannot be deleted; the data
        // folder itself is removed when the emulator stops.
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Committed data plus Gen2's uploaded-but-unflushed ranges, keyed by absolute position.
pub(crate) enum Content {
    Memory {
        chunks: Vec<Bytes>,
        /// Non-overlapping pieces by start: kept as they arrived (no copy), so that a large
        /// upload's many appends cost no more than their bytes.
        staged: BTreeMap<u64, Bytes>,
    },
    /// Staged data is written into the same file beyond the committed length; only the covered
    /// ranges (`start -> end`) are tracked.
    Disk {
        blob: Arc<DiskBlob>,
        staged: BTreeMap<u64, u64>,
    },
}

/// Where a body being received goes.
#[derive(Clone)]
pub(crate) enum Sink {
    Memory,
    Disk(Arc<DiskBlob>),
}

/// A received body: its length and, in memory, its bytes.
pub(crate) struct Received {
    pub len: u64,
    pub data: Option<Bytes>,
}

pub(crate) enum ReceiveError {
    /// More than the limit: nothing usable was kept.
    TooLarge,
    /// The client went away mid-body.
    Client,
    /// Writing to the data folder failed.
    Storage(io::Error),
}

/// A snapshot of file content to send.
pub(crate) enum ReadSource {
    Memory(Vec<Bytes>),
    Disk {
        file: std::fs::File,
        len: u64,
        blob: Arc<DiskBlob>,
    },
}

/// Why a Gen2 flush was refused; the service answers `InvalidFlushPosition` for both.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum FlushError {
    BeforeCommitted,
    NotContiguous,
}

impl Content {
    pub(crate) fn sink(&self) -> Sink {
        match self {
            Content::Memory { .. } => Sink::Memory,
            Content::Disk { blob, .. } => Sink::Disk(Arc::clone(blob)),
        }
    }

    /// Appends a received body at the committed end (Gen1). On disk the bytes were already
    /// written there.
    pub(crate) fn commit_append(&mut self, len: &mut u64, received: Received) {
        if let (Content::Memory { chunks, .. }, Some(data)) = (self, received.data) {
            if !data.is_empty() {
                chunks.push(data);
            }
        }
        *len += received.len;
    }

    /// Records a Gen2 append of `received` at `position` (not yet readable).
    pub(crate) fn stage(&mut self, position: u64, received: Received) {
        if received.len == 0 {
            return;
        }
        let end = position.saturating_add(received.len);
        match self {
            Content::Memory { staged, .. } => {
                insert_segment(staged, position, received.data.unwrap_or_default());
            }
            Content::Disk { staged, .. } => insert_range(staged, position, end),
        }
    }

    /// Makes `[len, position)` readable. It must be covered by staged data without a gap;
    /// staged data beyond `position` is kept only with `retain`.
    pub(crate) fn flush(
        &mut self,
        len: &mut u64,
        position: u64,
        retain: bool,
    ) -> Result<(), FlushError> {
        if position < *len {
            return Err(FlushError::BeforeCommitted);
        }
        match self {
            Content::Memory { chunks, staged } => {
                if position > *len {
                    // Checked before anything moves, so a refused flush changes nothing.
                    if covered_from(staged, *len, position) < position {
                        return Err(FlushError::NotContiguous);
                    }
                    let mut at = *len;
                    while at < position {
                        let Some(piece) = staged.remove(&at) else {
                            return Err(FlushError::NotContiguous);
                        };
                        let n = piece.len() as u64;
                        if at + n > position {
                            // Both bounds are within the piece, so the cast cannot truncate.
                            let keep = (position - at) as usize;
                            chunks.push(piece.slice(..keep));
                            staged.insert(position, piece.slice(keep..));
                        } else {
                            chunks.push(piece);
                        }
                        at += n;
                    }
                }
                if !retain {
                    staged.clear();
                }
            }
            Content::Disk { staged, .. } => {
                if position > *len {
                    match staged.get(len) {
                        Some(end) if *end >= position => {}
                        _ => return Err(FlushError::NotContiguous),
                    }
                    if let Some(end) = staged.remove(len) {
                        if end > position {
                            staged.insert(position, end);
                        }
                    }
                }
                if !retain {
                    staged.clear();
                }
            }
        }
        *len = position;
        Ok(())
    }

    /// `count` bytes from `offset` of the committed data (callers clamp to the length).
    pub(crate) fn read(&self, offset: u64, count: u64) -> io::Result<ReadSource> {
        match self {
            Content::Memory { chunks, .. } => {
                let mut out = Vec::new();
                let mut skip = offset;
                let mut left = count;
                for chunk in chunks {
                    if left == 0 {
                        break;
                    }
                    let n = chunk.len() as u64;
                    if skip >= n {
                        skip -= n;
                        continue;
                    }
                    // Both bounds are within the chunk, so the casts cannot truncate.
                    let start = skip as usize;
                    let end = (skip + left).min(n) as usize;
                    out.push(chunk.slice(start..end));
                    left -= (end - start) as u64;
                    skip = 0;
                }
                Ok(ReadSource::Memory(out))
            }
            Content::Disk { blob, .. } => {
                // Opened here, under the store lock, so the bytes served are those of this
                // version of the file even if it is replaced while being sent.
                let mut file = std::fs::File::open(&blob.path)?;
                file.seek(SeekFrom::Start(offset))?;
                Ok(ReadSource::Disk {
                    file,
                    len: count,
                    blob: Arc::clone(blob),
                })
            }
        }
    }
}

/// Receives a body into `sink`, starting at `offset` of the file on disk. Fails without keeping
/// anything readable once more than `limit` bytes arrive.
pub(crate) async fn receive(
    sink: &Sink,
    body: &mut RequestBody,
    offset: u64,
    limit: u64,
) -> Result<Received, ReceiveError> {
    match sink {
        Sink::Memory => {
            let chunks = body
                .collect(limit)
                .await
                .map_err(|_| ReceiveError::Client)?
                .ok_or(ReceiveError::TooLarge)?;
            let total: usize = chunks.iter().map(Bytes::len).sum();
            let data = if chunks.len() == 1 {
                chunks.into_iter().next().unwrap_or_default()
            } else {
                let mut joined = BytesMut::with_capacity(total);
                chunks.iter().for_each(|c| joined.extend_from_slice(c));
                joined.freeze()
            };
            Ok(Received {
                len: total as u64,
                data: Some(data),
            })
        }
        Sink::Disk(blob) => {
            let mut file = tokio::fs::OpenOptions::new()
                .write(true)
                .open(&blob.path)
                .await
                .map_err(ReceiveError::Storage)?;
            file.seek(SeekFrom::Start(offset))
                .await
                .map_err(ReceiveError::Storage)?;
            let mut total = 0u64;
            while let Some(chunk) = body.chunk().await.map_err(|_| ReceiveError::Client)? {
                total += chunk.len() as u64;
                if total > limit {
                    return Err(ReceiveError::TooLarge);
                }
                file.write_all(&chunk)
                    .await
                    .map_err(ReceiveError::Storage)?;
            }
            file.flush().await.map_err(ReceiveError::Storage)?;
            Ok(Received {
                len: total,
                data: None,
            })
        }
    }
}

/// Adds `[pos, pos + data.len())` to the staged pieces, the newest bytes winning: the pieces it
/// overlaps are cut (slices of the same bytes, no copy) so that pieces never overlap.
fn insert_segment(staged: &mut BTreeMap<u64, Bytes>, pos: u64, data: Bytes) {
    if data.is_empty() {
        return;
    }
    let end = pos + data.len() as u64;
    // Pieces do not overlap, so their ends rise with their starts: walking back from `end`,
    // the overlapped ones come first.
    let overlapped: Vec<u64> = staged
        .range(..end)
        .rev()
        .take_while(|(start, piece)| **start + piece.len() as u64 > pos)
        .map(|(start, _)| *start)
        .collect();
    for start in overlapped {
        let Some(piece) = staged.remove(&start) else {
            continue;
        };
        let stop = start + piece.len() as u64;
        // The cut points are within the piece, so the casts cannot truncate.
        if start < pos {
            staged.insert(start, piece.slice(..(pos - start) as usize));
        }
        if stop > end {
            staged.insert(end, piece.slice((end - start) as usize..));
        }
    }
    staged.insert(pos, data);
}

/// How far from `from` the staged pieces run without a gap (at most to `until`).
fn covered_from(staged: &BTreeMap<u64, Bytes>, from: u64, until: u64) -> u64 {
    let mut at = from;
    for (start, piece) in staged.range(from..) {
        if at >= until || *start != at {
            break;
        }
        at += piece.len() as u64;
    }
    at
}

/// The disk counterpart of `insert_segment`: merges covered ranges.
fn insert_range(staged: &mut BTreeMap<u64, u64>, pos: u64, end: u64) {
    let touching: Vec<(u64, u64)> = staged
        .range(..=end)
        .filter(|(_, e)| **e >= pos)
        .map(|(s, e)| (*s, *e))
        .collect();
    let mut start = pos;
    let mut stop = end;
    for (s, e) in touching {
        staged.remove(&s);
        start = start.min(s);
        stop = stop.max(e);
    }
    staged.insert(start, stop);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(path: &str) -> Key {
        parse_path(path).unwrap()
    }

    #[test]
    fn paths() {
        assert_eq!(key("/a//b/"), vec!["a", "b"]);
        assert_eq!(key(""), Vec::<String>::new());
        assert!(parse_path("/a/../b").is_none());
        assert_eq!(display_path(&key("a/b")), "/a/b");
    }

    #[test]
    fn tree_order_and_ranges() {
        let mut tree = Tree::new(Node::dir("o", "g", "p", 0));
        for p in ["b", "a", "a/x", "a b", "a/x/y", "ab"] {
            tree.insert(key(p), Node::dir("o", "g", "p", 0));
        }
        let all: Vec<String> = tree.descendants(&[]).map(|(k, _)| k.join("/")).collect();
        assert_eq!(all, vec!["a", "a/x", "a/x/y", "a b", "ab", "b"]);
        let kids: Vec<String> = tree.children(&key("a")).map(|(k, _)| k.join("/")).collect();
        assert_eq!(kids, vec!["a/x"]);
        tree.move_subtree(&key("a"), &key("z"));
        assert!(tree.get(&key("z/x/y")).is_some());
        assert!(tree.get(&key("a")).is_none());
        assert_eq!(tree.remove_subtree(&key("z")).len(), 3);
        assert_eq!(tree.remove_subtree(&[]).len(), 3);
        assert!(tree.get(&[]).is_some());
    }

    fn memory() -> Content {
        Content::Memory {
            chunks: Vec::new(),
            staged: BTreeMap::new(),
        }
    }

    fn received(data: &[u8]) -> Received {
        Received {
            len: data.len() as u64,
            data: Some(Bytes::copy_from_slice(data)),
        }
    }

    fn read_all(content: &Content, len: u64) -> Vec<u8> {
        match content.read(0, len).unwrap() {
            ReadSource::Memory(chunks) => chunks.concat(),
            ReadSource::Disk { .. } => unreachable!(),
        }
    }

    #[test]
    fn staged_appends_in_any_order_then_flush() {
        let mut content = memory();
        let mut len = 0;
        content.stage(5, received(b"world"));
        assert_eq!(
            content.flush(&mut len, 10, false),
            Err(FlushError::NotContiguous)
        );
        content.stage(0, received(b"hello"));
        content.stage(10, received(b"!!"));
        content.flush(&mut len, 10, true).unwrap();
        assert_eq!(read_all(&content, len), b"helloworld");
        content.flush(&mut len, 12, false).unwrap();
        assert_eq!(read_all(&content, len), b"helloworld!!");
        assert_eq!(
            content.flush(&mut len, 3, false),
            Err(FlushError::BeforeCommitted)
        );
        // Unretained staged data is gone.
        content.stage(12, received(b"xy"));
        content.flush(&mut len, 12, false).unwrap();
        assert_eq!(
            content.flush(&mut len, 14, false),
            Err(FlushError::NotContiguous)
        );
    }

    #[test]
    fn overlapping_segments_newest_wins() {
        let mut staged = BTreeMap::new();
        insert_segment(&mut staged, 0, Bytes::from_static(b"aaaa"));
        insert_segment(&mut staged, 10, Bytes::from_static(b"cc"));
        insert_segment(&mut staged, 2, Bytes::from_static(b"bbbbbbbb"));
        let whole: Vec<u8> = staged.values().flat_map(|p| p.to_vec()).collect();
        assert_eq!(whole, b"aabbbbbbbbcc");
        assert_eq!(covered_from(&staged, 0, 100), 12);
        // Inside one piece: it is cut in three.
        insert_segment(&mut staged, 5, Bytes::from_static(b"x"));
        let whole: Vec<u8> = staged.values().flat_map(|p| p.to_vec()).collect();
        assert_eq!(whole, b"aabbbxbbbbcc");
        // Over several pieces at once, and beyond the end.
        insert_segment(&mut staged, 1, Bytes::from_static(b"yyyyyyyyyyyyyy"));
        let whole: Vec<u8> = staged.values().flat_map(|p| p.to_vec()).collect();
        assert_eq!(whole, b"ayyyyyyyyyyyyyy");
        assert_eq!(covered_from(&staged, 0, 100), 15);
        let mut ranges = BTreeMap::new();
        insert_range(&mut ranges, 0, 4);
        insert_range(&mut ranges, 6, 8);
        insert_range(&mut ranges, 4, 6);
        assert_eq!(ranges.into_iter().collect::<Vec<_>>(), vec![(0, 8)]);
    }

    #[test]
    fn flush_takes_pieces_up_to_the_position_and_keeps_the_rest_with_retain() {
        let mut content = memory();
        let mut len = 0;
        content.stage(0, received(b"abc"));
        content.stage(3, received(b"defgh"));
        content.stage(10, received(b"zz"));
        // Ends inside the second piece; the gap at 8..10 is not reached.
        content.flush(&mut len, 5, true).unwrap();
        assert_eq!(read_all(&content, len), b"abcde");
        assert_eq!(
            content.flush(&mut len, 12, true),
            Err(FlushError::NotContiguous)
        );
        // The refused flush moved nothing: the rest is still there to flush.
        content.flush(&mut len, 8, false).unwrap();
        assert_eq!(read_all(&content, len), b"abcdefgh");
    }

    #[test]
    fn staged_appends_are_kept_without_a_copy() {
        // A copy per append (merging each into the last) made a 1 GiB upload of 8 MiB appends
        // copy 64 GiB: minutes in memory. The bytes that arrived are the bytes read back.
        let mut content = memory();
        let mut len = 0;
        let first = Bytes::from(vec![1u8; 4096]);
        let second = Bytes::from(vec![2u8; 4096]);
        let pointers = [first.as_ptr(), second.as_ptr()];
        for (at, data) in [(0, first), (4096, second)] {
            content.stage(
                at,
                Received {
                    len: 4096,
                    data: Some(data),
                },
            );
        }
        content.flush(&mut len, 8192, false).unwrap();
        match content.read(0, len).unwrap() {
            ReadSource::Memory(chunks) => {
                let read: Vec<*const u8> = chunks.iter().map(|c| c.as_ptr()).collect();
                assert_eq!(read, pointers);
            }
            ReadSource::Disk { .. } => unreachable!(),
        }
    }

    #[test]
    fn memory_reads_slice_across_chunks() {
        let mut content = memory();
        let mut len = 0;
        content.commit_append(&mut len, received(b"0123"));
        content.commit_append(&mut len, received(b"4567"));
        match content.read(2, 4).unwrap() {
            ReadSource::Memory(chunks) => assert_eq!(chunks.concat(), b"2345"),
            ReadSource::Disk { .. } => unreachable!(),
        }
    }
}
