//! Decoding one PNG file's bytes to 8-bit gray of an expected size, or saying it is not handled.
//!
//! Handled: 8-bit gray (colour type 0) and 8-bit RGB (colour type 2), not interlaced, of exactly the
//! expected width and height. RGB becomes gray as Pillow's `convert("L")` computes it,
//! `L = (R*19595 + G*38470 + B*7471 + 0x8000) >> 16`. The decoder is stricter than Pillow, so that whatever
//! it decodes Pillow decodes to the same pixels: every chunk's CRC must hold; `IHDR` must come first and be
//! valid; the `IDAT` chunks must be consecutive and hold one zlib stream of exactly the image's filtered
//! rows (see [`crate::inflate`]); `IEND` must be present, empty and last in the file. Any other chunk than
//! these and the harmless ancillary `gAMA`, `cHRM`, `sRGB`, `iCCP`, `pHYs`, `tIME`, `sBIT` and `bKGD`
//! (each of its specified length, an `iCCP` small enough that Pillow cannot refuse it) is not handled:
//! among them `tRNS` (transparency), `eXIf` (orientation), the animation chunks and every text chunk.
//! Files over [`MAX_FILE_BYTES`] and images over [`MAX_PIXELS`] are not handled either.

use crate::inflate::inflate_zlib;

/// Largest file handled (16 MiB).
pub const MAX_FILE_BYTES: usize = 16 << 20;

/// Largest image handled, in pixels: Pillow's default `Image.MAX_IMAGE_PIXELS`, above which it warns of
/// a decompression bomb.
pub const MAX_PIXELS: usize = 89_478_485;

/// The eight bytes every PNG file starts with.
const SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];

/// Largest chunk length the PNG specification allows (2^31 - 1).
const MAX_CHUNK_LENGTH: usize = (1 << 31) - 1;

/// Longest compressed ICC profile accepted: DEFLATE expands at most 1032 times, so this cannot inflate
/// past Pillow's 1 MiB `MAX_TEXT_CHUNK` (which would make it raise).
const MAX_COMPRESSED_PROFILE: usize = 1000;

/// The CRC-32 (ISO 3309, as PNG uses it) lookup table, one entry per byte value.
const CRC_TABLE: [u32; 256] = crc_table();

/// [`CRC_TABLE`], computed at compile time from the reflected polynomial `0xEDB88320`.
const fn crc_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut n = 0;
    while n < 256 {
        let mut c = n as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[n] = c;
        n += 1;
    }
    table
}

/// CRC-32 of the concatenation of `parts`.
pub fn crc32(parts: &[&[u8]]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for part in parts {
        for &byte in *part {
            crc = CRC_TABLE[((crc ^ byte as u32) & 0xff) as usize] ^ (crc >> 8);
        }
    }
    !crc
}

/// A big-endian u32 at `bytes[at..at + 4]` (which must exist).
fn be32(bytes: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

/// One chunk of a file.
struct Chunk<'a> {
    kind: [u8; 4],
    data: &'a [u8],
}

/// The chunk starting at `file[at..]` and the offset after it, or None when it is cut short, too long,
/// or fails its CRC.
fn chunk_at(file: &[u8], at: usize) -> Option<(Chunk<'_>, usize)> {
    let header = file.get(at..at.checked_add(8)?)?;
    let length = be32(header, 0) as usize;
    if length > MAX_CHUNK_LENGTH {
        return None;
    }
    let data_start = at + 8;
    let data = file.get(data_start..data_start.checked_add(length)?)?;
    let crc_at = data_start + length;
    let crc = file.get(crc_at..crc_at + 4)?;
    let kind = [header[4], header[5], header[6], header[7]];
    if crc32(&[&kind, data]) != be32(crc, 0) {
        return None;
    }
    Some((Chunk { kind, data }, crc_at + 4))
}

/// Samples per pixel of a handled colour type (0: gray, 2: RGB).
fn channels(colour_type: u8) -> Option<usize> {
    match colour_type {
        0 => Some(1),
        2 => Some(3),
        _ => None,
    }
}

/// The channels of a handled `IHDR` of exactly `height x width` pixels: 13 bytes, bit depth 8, colour
/// type 0 or 2, compression and filter method 0, no interlace.
fn header_channels(ihdr: &Chunk, height: usize, width: usize) -> Option<usize> {
    let d = ihdr.data;
    if &ihdr.kind != b"IHDR" || d.len() != 13 {
        return None;
    }
    let (file_width, file_height) = (be32(d, 0) as usize, be32(d, 4) as usize);
    if file_width != width || file_height != height || d[8] != 8 || d[10] != 0 || d[11] != 0 || d[12] != 0 {
        return None;
    }
    channels(d[9])
}

/// Whether an `iCCP` chunk is one Pillow reads without raising: a profile name of 1 to 79 bytes, its
/// NUL, compression method 0, and a compressed profile of at most [`MAX_COMPRESSED_PROFILE`] bytes.
fn harmless_profile(data: &[u8]) -> bool {
    match data.iter().position(|&b| b == 0) {
        Some(name) if (1..=79).contains(&name) => {
            data.get(name + 1) == Some(&0) && data.len() - (name + 2) <= MAX_COMPRESSED_PROFILE
        }
        _ => false,
    }
}

/// Whether an ancillary chunk is on the list of harmless ones (no effect on Pillow's pixels, no way to
/// make Pillow raise) with its specified length, for an image of `channels` samples per pixel.
fn harmless_ancillary(chunk: &Chunk, channels: usize) -> bool {
    let length = chunk.data.len();
    match &chunk.kind {
        b"gAMA" => length == 4,
        b"cHRM" => length == 32,
        b"sRGB" => length == 1,
        b"pHYs" => length == 9,
        b"tIME" => length == 7,
        b"sBIT" => length == channels,
        b"bKGD" => length == 2 * channels,
        b"iCCP" => harmless_profile(chunk.data),
        _ => false,
    }
}

/// The `IDAT` chunks' data, in order, of a file whose chunks after `IHDR` (from `at` on) are handled:
/// harmless ancillary chunks, one run of consecutive `IDAT` chunks, and an empty `IEND` ending the file.
fn image_data(file: &[u8], mut at: usize, channels: usize) -> Option<Vec<&[u8]>> {
    let mut parts = Vec::new();
    let mut idat_ended = false;
    loop {
        let (chunk, next) = chunk_at(file, at)?;
        at = next;
        match &chunk.kind {
            b"IDAT" if !idat_ended => parts.push(chunk.data),
            b"IEND" => {
                return (chunk.data.is_empty() && at == file.len() && !parts.is_empty()).then_some(parts);
            }
            _ if harmless_ancillary(&chunk, channels) => idat_ended = !parts.is_empty(),
            _ => return None,
        }
    }
}

/// Reusable buffers for decoding many files on one thread.
#[derive(Default)]
pub struct Scratch {
    /// The `IDAT` chunks' data joined, when there are several.
    compressed: Vec<u8>,
    /// The decompressed filtered rows, each a filter byte and `width * channels` samples.
    filtered: Vec<u8>,
    /// One row of zeros: the row above the first.
    zeros: Vec<u8>,
}

/// Paeth predictor (PNG specification, section 9.4) of left `a`, above `b`, upper-left `c`.
#[inline]
fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let (ia, ib, ic) = (a as i16, b as i16, c as i16);
    let p = ia + ib - ic;
    let (pa, pb, pc) = ((p - ia).abs(), (p - ib).abs(), (p - ic).abs());
    if pa <= pb && pa <= pc {
        a
    } else if pb <= pc {
        b
    } else {
        c
    }
}

/// Reverses filter `filter` on `row` in place, given the unfiltered row above `prior` and `bpp` bytes per
/// pixel; false for an unknown filter type.
fn unfilter_row(filter: u8, row: &mut [u8], prior: &[u8], bpp: usize) -> bool {
    match filter {
        0 => {}
        1 => {
            for i in bpp..row.len() {
                row[i] = row[i].wrapping_add(row[i - bpp]);
            }
        }
        2 => {
            for (x, &b) in row.iter_mut().zip(prior) {
                *x = x.wrapping_add(b);
            }
        }
        3 => {
            for i in 0..row.len() {
                let a = if i >= bpp { row[i - bpp] as u16 } else { 0 };
                row[i] = row[i].wrapping_add(((a + prior[i] as u16) / 2) as u8);
            }
        }
        4 => {
            for i in 0..row.len() {
                let (a, c) = if i >= bpp {
                    (row[i - bpp], prior[i - bpp])
                } else {
                    (0, 0)
                };
                row[i] = row[i].wrapping_add(paeth(a, prior[i], c));
            }
        }
        _ => return false,
    }
    true
}

/// Pillow's RGB to L conversion of one pixel.
#[inline]
pub fn rgb_to_gray(r: u8, g: u8, b: u8) -> u8 {
    ((r as u32 * 19595 + g as u32 * 38470 + b as u32 * 7471 + 0x8000) >> 16) as u8
}

/// Unfilters the `height` rows of `filtered` (each a filter byte then `row_bytes` samples) in place and
/// writes their gray pixels to `out`; false for an unknown filter type.
fn unfilter_to_gray(
    filtered: &mut [u8],
    zeros: &[u8],
    row_bytes: usize,
    channels: usize,
    out: &mut [u8],
) -> bool {
    let stride = row_bytes + 1;
    let width = row_bytes / channels;
    for y in 0..filtered.len() / stride {
        let (above, rest) = filtered.split_at_mut(y * stride);
        let prior = if y == 0 {
            zeros
        } else {
            &above[above.len() - row_bytes..]
        };
        let (filter, row) = rest[..stride]
            .split_first_mut()
            .expect("a row has its filter byte");
        if !unfilter_row(*filter, row, prior, channels) {
            return false;
        }
        let gray = &mut out[y * width..(y + 1) * width];
        if channels == 1 {
            gray.copy_from_slice(row);
        } else {
            for (pixel, rgb) in gray.iter_mut().zip(row.chunks_exact(3)) {
                *pixel = rgb_to_gray(rgb[0], rgb[1], rgb[2]);
            }
        }
    }
    true
}

/// Decodes the PNG file `file` into `out` (`height * width` gray bytes, row-major), returning true, or
/// returns false when the file is not handled (see the module docs); `out` is then unspecified.
pub fn decode_gray(file: &[u8], height: usize, width: usize, scratch: &mut Scratch, out: &mut [u8]) -> bool {
    decode(file, height, width, scratch, out).is_some()
}

/// [`decode_gray`], with None for not handled.
fn decode(file: &[u8], height: usize, width: usize, scratch: &mut Scratch, out: &mut [u8]) -> Option<()> {
    if file.len() > MAX_FILE_BYTES || !file.starts_with(&SIGNATURE) {
        return None;
    }
    if height == 0 || width == 0 || height.checked_mul(width)? > MAX_PIXELS || out.len() != height * width {
        return None;
    }
    let (ihdr, after_header) = chunk_at(file, SIGNATURE.len())?;
    let channels = header_channels(&ihdr, height, width)?;
    let parts = image_data(file, after_header, channels)?;
    let compressed: &[u8] = if parts.len() == 1 {
        parts[0]
    } else {
        scratch.compressed.clear();
        parts
            .iter()
            .for_each(|part| scratch.compressed.extend_from_slice(part));
        &scratch.compressed
    };
    let row_bytes = width * channels;
    scratch.filtered.resize(height * (row_bytes + 1), 0);
    inflate_zlib(compressed, &mut scratch.filtered).ok()?;
    scratch.zeros.resize(row_bytes, 0);
    unfilter_to_gray(&mut scratch.filtered, &scratch.zeros, row_bytes, channels, out).then_some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inflate::adler32;

    /// A chunk with its length and CRC.
    fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut bytes = (data.len() as u32).to_be_bytes().to_vec();
        bytes.extend_from_slice(kind);
        bytes.extend_from_slice(data);
        bytes.extend_from_slice(&crc32(&[kind, data]).to_be_bytes());
        bytes
    }

    /// A zlib stream of `data` in stored blocks.
    fn zlib_stored(data: &[u8]) -> Vec<u8> {
        let mut stream = vec![0x78, 0x01];
        let blocks: Vec<&[u8]> = if data.is_empty() {
            vec![&[]]
        } else {
            data.chunks(65535).collect()
        };
        for (i, block) in blocks.iter().enumerate() {
            stream.push((i + 1 == blocks.len()) as u8);
            stream.extend_from_slice(&(block.len() as u16).to_le_bytes());
            stream.extend_from_slice(&(!(block.len() as u16)).to_le_bytes());
            stream.extend_from_slice(block);
        }
        stream.extend_from_slice(&adler32(data).to_be_bytes());
        stream
    }

    fn ihdr(width: u32, height: u32, depth: u8, colour: u8, interlace: u8) -> Vec<u8> {
        let mut data = width.to_be_bytes().to_vec();
        data.extend_from_slice(&height.to_be_bytes());
        data.extend_from_slice(&[depth, colour, 0, 0, interlace]);
        chunk(b"IHDR", &data)
    }

    /// A PNG file: signature, `IHDR`, `middle` chunks as given, `IEND`.
    fn png(header: Vec<u8>, middle: &[Vec<u8>]) -> Vec<u8> {
        let mut file = SIGNATURE.to_vec();
        file.extend(header);
        middle.iter().for_each(|c| file.extend_from_slice(c));
        file.extend(chunk(b"IEND", b""));
        file
    }

    /// Filters `pixels` (`height` rows of `row_bytes`) row by row with the filter types `filters` cycled.
    fn filter_rows(pixels: &[u8], row_bytes: usize, bpp: usize, filters: &[u8]) -> Vec<u8> {
        let mut filtered = Vec::new();
        let zeros = vec![0u8; row_bytes];
        for (y, row) in pixels.chunks(row_bytes).enumerate() {
            let prior = if y == 0 {
                &zeros[..]
            } else {
                &pixels[(y - 1) * row_bytes..y * row_bytes]
            };
            let filter = filters[y % filters.len()];
            filtered.push(filter);
            for i in 0..row_bytes {
                let a = if i >= bpp { row[i - bpp] } else { 0 };
                let c = if i >= bpp { prior[i - bpp] } else { 0 };
                let predicted = match filter {
                    0 => 0,
                    1 => a,
                    2 => prior[i],
                    3 => ((a as u16 + prior[i] as u16) / 2) as u8,
                    _ => paeth(a, prior[i], c),
                };
                filtered.push(row[i].wrapping_sub(predicted));
            }
        }
        filtered
    }

    fn pattern(count: usize) -> Vec<u8> {
        (0..count).map(|i| ((i * 37 + i / 7 * 11) % 256) as u8).collect()
    }

    fn decode_to_vec(file: &[u8], height: usize, width: usize) -> Option<Vec<u8>> {
        let mut out = vec![0u8; height * width];
        decode_gray(file, height, width, &mut Scratch::default(), &mut out).then_some(out)
    }

    #[test]
    fn crc_of_iend_is_the_known_value() {
        assert_eq!(crc32(&[b"IEND"]), 0xAE42_6082);
    }

    #[test]
    fn gray_with_every_filter_type() {
        let (height, width) = (10, 7);
        let pixels = pattern(height * width);
        let filtered = filter_rows(&pixels, width, 1, &[0, 1, 2, 3, 4]);
        let file = png(ihdr(7, 10, 8, 0, 0), &[chunk(b"IDAT", &zlib_stored(&filtered))]);
        assert_eq!(decode_to_vec(&file, height, width), Some(pixels));
    }

    #[test]
    fn rgb_becomes_gray_as_pillow_converts_it() {
        let (height, width) = (5, 6);
        let rgb = pattern(height * width * 3);
        let filtered = filter_rows(&rgb, width * 3, 3, &[4, 3, 2, 1, 0]);
        let stream = zlib_stored(&filtered);
        let (first, second) = stream.split_at(stream.len() / 2);
        let gamma = chunk(b"gAMA", &45455u32.to_be_bytes());
        let file = png(
            ihdr(6, 5, 8, 2, 0),
            &[gamma, chunk(b"IDAT", first), chunk(b"IDAT", second)],
        );
        let expected: Vec<u8> = rgb.chunks(3).map(|p| rgb_to_gray(p[0], p[1], p[2])).collect();
        assert_eq!(decode_to_vec(&file, height, width), Some(expected));
        assert_eq!(rgb_to_gray(255, 255, 255), 255);
        assert_eq!(rgb_to_gray(255, 0, 0), 76);
    }

    #[test]
    fn anything_unusual_is_not_handled() {
        let pixels = pattern(16);
        let idat = chunk(b"IDAT", &zlib_stored(&filter_rows(&pixels, 4, 1, &[0])));
        let good = png(ihdr(4, 4, 8, 0, 0), std::slice::from_ref(&idat));
        assert!(decode_to_vec(&good, 4, 4).is_some());
        assert!(decode_to_vec(&good, 4, 5).is_none(), "wrong size");
        assert!(
            decode_to_vec(&png(ihdr(4, 4, 8, 0, 1), std::slice::from_ref(&idat)), 4, 4).is_none(),
            "interlace"
        );
        assert!(
            decode_to_vec(&png(ihdr(4, 4, 16, 0, 0), std::slice::from_ref(&idat)), 4, 4).is_none(),
            "16-bit"
        );
        assert!(
            decode_to_vec(&png(ihdr(4, 4, 8, 4, 0), std::slice::from_ref(&idat)), 4, 4).is_none(),
            "gray+alpha"
        );
        for kind in [
            b"tRNS", b"eXIf", b"tEXt", b"zTXt", b"iTXt", b"acTL", b"PLTE", b"abCd",
        ] {
            let file = png(ihdr(4, 4, 8, 0, 0), &[chunk(kind, b"\0\0"), idat.clone()]);
            assert!(decode_to_vec(&file, 4, 4).is_none(), "{kind:?}");
        }
        let split = png(
            ihdr(4, 4, 8, 0, 0),
            &[idat.clone(), chunk(b"gAMA", &[0; 4]), idat.clone()],
        );
        assert!(decode_to_vec(&split, 4, 4).is_none(), "IDATs apart");
        let mut bad_crc = good.clone();
        let last = bad_crc.len() - 13;
        bad_crc[last] ^= 1;
        assert!(decode_to_vec(&bad_crc, 4, 4).is_none(), "bad CRC");
        let mut trailing = good.clone();
        trailing.push(0);
        assert!(decode_to_vec(&trailing, 4, 4).is_none(), "bytes after IEND");
        assert!(decode_to_vec(&good[..good.len() - 12], 4, 4).is_none(), "no IEND");
        let bad_filter = chunk(b"IDAT", &zlib_stored(&[5, 0, 0, 0, 0].repeat(4)));
        assert!(
            decode_to_vec(&png(ihdr(4, 4, 8, 0, 0), &[bad_filter]), 4, 4).is_none(),
            "filter 5"
        );
        let long_gamma = png(ihdr(4, 4, 8, 0, 0), &[chunk(b"gAMA", &[0; 5]), idat.clone()]);
        assert!(decode_to_vec(&long_gamma, 4, 4).is_none(), "gAMA of 5 bytes");
        assert!(decode_to_vec(&[], 4, 4).is_none());
    }

    #[test]
    fn harmless_ancillary_chunks_are_accepted() {
        let pixels = pattern(16);
        let idat = chunk(b"IDAT", &zlib_stored(&filter_rows(&pixels, 4, 1, &[2])));
        let chunks = [
            chunk(b"sRGB", &[0]),
            chunk(b"iCCP", b"name\0\0\x78\x01"),
            chunk(b"pHYs", &[0; 9]),
            idat,
            chunk(b"tIME", &[0; 7]),
        ];
        assert_eq!(
            decode_to_vec(&png(ihdr(4, 4, 8, 0, 0), &chunks), 4, 4),
            Some(pixels)
        );
        assert!(!harmless_profile(b"\0\0"));
        assert!(!harmless_profile(b"name\0\x01"));
        assert!(!harmless_profile(&[b"name\0\0".to_vec(), vec![0; 1001]].concat()));
    }
}
