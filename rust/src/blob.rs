//! Byte strings passed through the C ABI as one blob: string `k` is `bytes[offsets[k]..offsets[k + 1]]`.
//!
//! Batch file functions take their paths (and the file writer its data) this way: one buffer and
//! `count + 1` offsets, rather than `count` pointers.

/// `offsets.len() - 1` byte strings laid end to end in `bytes`.
#[derive(Clone, Copy, Debug)]
pub struct Blob<'a> {
    pub bytes: &'a [u8],
    /// `count + 1` non-decreasing offsets into `bytes`, the last at most `bytes.len()`.
    pub offsets: &'a [u64],
}

impl<'a> Blob<'a> {
    /// Byte string `k` (the blob must be [`valid`](Self::is_valid)).
    pub fn item(&self, k: usize) -> &'a [u8] {
        &self.bytes[self.offsets[k] as usize..self.offsets[k + 1] as usize]
    }

    /// Number of byte strings.
    pub fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the offsets are non-decreasing and within `bytes`.
    pub fn is_valid(&self) -> bool {
        self.offsets.windows(2).all(|w| w[0] <= w[1])
            && self
                .offsets
                .last()
                .is_none_or(|&last| last <= self.bytes.len() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_must_be_ordered_and_inside_the_bytes() {
        let bytes = b"abc";
        let blob = |offsets| Blob { bytes, offsets };
        assert!(blob(&[0, 2, 3]).is_valid());
        assert_eq!(
            (blob(&[0, 2, 3]).item(0), blob(&[0, 2, 3]).item(1)),
            (&b"ab"[..], &b"c"[..])
        );
        assert!(!blob(&[0, 2, 1]).is_valid());
        assert!(!blob(&[0, 4]).is_valid());
        assert!(blob(&[0]).is_empty());
    }
}
