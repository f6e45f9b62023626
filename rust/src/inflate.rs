//! zlib (RFC 1950) and DEFLATE (RFC 1951) decoding into a buffer of a known size.
//!
//! [`inflate_zlib`] checks the two-byte zlib header (method 8, a window of at most 32 KiB, `FCHECK`, no
//! preset dictionary), decodes stored, fixed-Huffman and dynamic-Huffman blocks, and verifies the
//! Adler-32 of the output. It succeeds only when the stream fills the output exactly, ends with its
//! Adler-32 at the last byte of the input, and every code and distance is valid: it accepts no stream
//! that zlib itself would refuse.
//!
//! Huffman codes are decoded through a table ([`Huffman`]): the next `primary_bits` input bits index a
//! first-level table whose entry is either the symbol with its code length, or a link to a second-level
//! table for the longer codes sharing that prefix.

use std::sync::OnceLock;

/// Why a stream was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InflateError {
    /// The zlib header is not method 8 with a window of at most 32 KiB, or fails its `FCHECK`.
    BadHeader,
    /// The header asks for a preset dictionary (`FDICT`).
    PresetDictionary,
    /// A block type of 3.
    BadBlockType,
    /// A stored block whose `NLEN` is not the one's complement of its `LEN`.
    BadStoredLength,
    /// A set of code lengths that is over-subscribed or incomplete, or a repeat with nothing to repeat
    /// or past the end, or too many symbols, or no end-of-block code.
    BadCodeLengths,
    /// A bit sequence that is no code, or a length or distance symbol that is not used.
    BadCode,
    /// A distance beyond the start of the output or beyond the header's window.
    DistanceTooFar,
    /// The stream decodes to more bytes than the output holds.
    OutputTooLong,
    /// The stream ends before the output is full.
    OutputTooShort,
    /// The input ends inside the stream.
    Truncated,
    /// Bytes follow the Adler-32.
    TrailingBytes,
    /// The Adler-32 does not match the output.
    AdlerMismatch,
}

/// Longest Huffman code in DEFLATE.
const MAX_CODE_BITS: usize = 15;

/// First-level table bits for literal/length codes.
const LITLEN_BITS: u32 = 9;
/// First-level table bits for distance codes.
const DISTANCE_BITS: u32 = 7;
/// First-level table bits for code-length codes (at most 7 bits long, so one level).
const CODE_LENGTH_BITS: u32 = 7;

/// Base lengths of length symbols 257..=285.
const LENGTH_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195,
    227, 258,
];
/// Extra bits of length symbols 257..=285.
const LENGTH_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
/// Base distances of distance symbols 0..=29.
const DISTANCE_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073,
    4097, 6145, 8193, 12289, 16385, 24577,
];
/// Extra bits of distance symbols 0..=29.
const DISTANCE_EXTRA: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13,
];
/// The order in which a dynamic block lists the code lengths of the code-length alphabet.
const CODE_LENGTH_ORDER: [usize; 19] = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

/// The end-of-block symbol.
const END_OF_BLOCK: u16 = 256;

/// Least-significant-bit-first reader over a byte slice. Past the end it reads zero bits, and counts
/// them, so that [`BitReader::overrun`] can tell afterwards whether any were consumed.
struct BitReader<'a> {
    data: &'a [u8],
    /// Bytes moved into `bits` so far, including zero bytes invented past the end.
    loaded: usize,
    bits: u64,
    count: u32,
}

impl<'a> BitReader<'a> {
    fn new(data: &'a [u8]) -> Self {
        BitReader {
            data,
            loaded: 0,
            bits: 0,
            count: 0,
        }
    }

    /// Tops the buffer up to at least 57 bits.
    #[inline]
    fn refill(&mut self) {
        while self.count <= 56 {
            let byte = self.data.get(self.loaded).copied().unwrap_or(0);
            self.bits |= (byte as u64) << self.count;
            self.loaded += 1;
            self.count += 8;
        }
    }

    /// The next `n` (at most 32) bits without consuming them; the buffer must hold them.
    #[inline]
    fn peek(&self, n: u32) -> u32 {
        (self.bits & ((1u64 << n) - 1)) as u32
    }

    /// Drops `n` bits from the buffer.
    #[inline]
    fn consume(&mut self, n: u32) {
        self.bits >>= n;
        self.count -= n;
    }

    /// The next `n` (at most 32) bits as a number, first bit lowest, consumed.
    #[inline]
    fn take(&mut self, n: u32) -> u32 {
        if self.count < n {
            self.refill();
        }
        let value = self.peek(n);
        self.consume(n);
        value
    }

    /// Bytes of the input consumed, counting a partly consumed byte as consumed.
    fn bytes_consumed(&self) -> usize {
        self.loaded - (self.count / 8) as usize
    }

    /// Whether more bits were consumed than the input has.
    fn overrun(&self) -> bool {
        self.loaded * 8 - self.count as usize > self.data.len() * 8
    }

    /// Drops the bits up to the next byte boundary, then empties the buffer, leaving the reader at byte
    /// [`BitReader::bytes_consumed`].
    fn align_to_byte(&mut self) {
        let position = self.bytes_consumed();
        self.loaded = position;
        self.bits = 0;
        self.count = 0;
    }

    /// The next `n` whole bytes (the reader must be byte-aligned with an empty buffer), or `Truncated`.
    fn take_bytes(&mut self, n: usize) -> Result<&'a [u8], InflateError> {
        let end = self.loaded.checked_add(n).ok_or(InflateError::Truncated)?;
        let bytes = self.data.get(self.loaded..end).ok_or(InflateError::Truncated)?;
        self.loaded = end;
        Ok(bytes)
    }
}

/// Marks a table entry that links to a second-level table.
const LINK: u32 = 1 << 15;

/// A canonical Huffman code as a two-level decoding table.
///
/// A leaf entry is `symbol << 16 | length` (length 1..=15, the code's full length); a link entry is
/// `offset << 16 | LINK | bits`, the second-level table at `table[offset..offset + 2^bits]` indexed by
/// the `bits` input bits after the first `primary_bits`. An entry 0 is no code.
pub struct Huffman {
    table: Vec<u32>,
    primary_bits: u32,
}

/// Whether a code with these lengths may be used: not over-subscribed, and complete unless its longest
/// code is 1 bit long (a single code, which zlib accepts for literal/length and distance codes) or no
/// symbol has a code at all; `allow_incomplete` false refuses every incomplete code but the empty one.
fn lengths_acceptable(count: &[u16; MAX_CODE_BITS + 1], allow_incomplete: bool) -> bool {
    let mut left: i32 = 1;
    let mut longest = 0;
    for (length, &n) in count.iter().enumerate().skip(1) {
        left = (left << 1) - n as i32;
        if left < 0 {
            return false;
        }
        if n > 0 {
            longest = length;
        }
    }
    left == 0 || longest == 0 || (allow_incomplete && longest == 1)
}

/// Reverses the low `length` bits of `code`.
fn reverse_bits(code: u32, length: u32) -> u32 {
    code.reverse_bits() >> (32 - length)
}

impl Huffman {
    /// The decoding table of the canonical code with these code lengths (0: symbol unused), or
    /// `BadCodeLengths` when the lengths cannot be a prefix code (see [`lengths_acceptable`]).
    pub fn new(lengths: &[u8], primary_bits: u32, allow_incomplete: bool) -> Result<Self, InflateError> {
        let mut count = [0u16; MAX_CODE_BITS + 1];
        for &length in lengths {
            if length as usize > MAX_CODE_BITS {
                return Err(InflateError::BadCodeLengths);
            }
            count[length as usize] += 1;
        }
        count[0] = 0;
        if !lengths_acceptable(&count, allow_incomplete) {
            return Err(InflateError::BadCodeLengths);
        }
        let mut next = [0u32; MAX_CODE_BITS + 2];
        for length in 1..=MAX_CODE_BITS {
            next[length + 1] = (next[length] + count[length] as u32) << 1;
        }
        let codes: Vec<(u16, u32, u32)> = lengths
            .iter()
            .enumerate()
            .filter(|&(_, &length)| length > 0)
            .map(|(symbol, &length)| {
                let code = next[length as usize];
                next[length as usize] += 1;
                (symbol as u16, reverse_bits(code, length as u32), length as u32)
            })
            .collect();
        let mut table = vec![0u32; 1 << primary_bits];
        Self::link_second_level(&mut table, &codes, primary_bits);
        for &(symbol, reversed, length) in &codes {
            Self::fill_leaf(&mut table, primary_bits, symbol, reversed, length);
        }
        Ok(Huffman { table, primary_bits })
    }

    /// Appends one second-level table for each first-level prefix of codes longer than `primary_bits`,
    /// sized for the longest code with that prefix, and links it from the prefix's entry.
    fn link_second_level(table: &mut Vec<u32>, codes: &[(u16, u32, u32)], primary_bits: u32) {
        let mask = (1u32 << primary_bits) - 1;
        let mut extra = vec![0u32; 1 << primary_bits];
        for &(_, reversed, length) in codes {
            if length > primary_bits {
                let prefix = (reversed & mask) as usize;
                extra[prefix] = extra[prefix].max(length - primary_bits);
            }
        }
        for (prefix, &bits) in extra.iter().enumerate() {
            if bits > 0 {
                let offset = table.len() as u32;
                table.resize(table.len() + (1 << bits), 0);
                table[prefix] = offset << 16 | LINK | bits;
            }
        }
    }

    /// Writes the leaf of `symbol` (bit-reversed code `reversed` of `length` bits) into every entry its
    /// code prefixes, in the first-level table or in its prefix's second-level table.
    fn fill_leaf(table: &mut [u32], primary_bits: u32, symbol: u16, reversed: u32, length: u32) {
        let leaf = (symbol as u32) << 16 | length;
        if length <= primary_bits {
            let mut index = reversed as usize;
            while index < 1 << primary_bits {
                table[index] = leaf;
                index += 1 << length;
            }
        } else {
            let link = table[(reversed & ((1 << primary_bits) - 1)) as usize];
            let (offset, bits) = ((link >> 16) as usize, link & 0xf);
            let sub_length = length - primary_bits;
            let mut index = (reversed >> primary_bits) as usize;
            while index < 1 << bits {
                table[offset + index] = leaf;
                index += 1 << sub_length;
            }
        }
    }

    /// Decodes the next symbol; the reader's buffer must hold at least 15 bits (or end-of-input zeros).
    #[inline]
    fn decode(&self, reader: &mut BitReader) -> Result<u16, InflateError> {
        let mut entry = self.table[reader.peek(self.primary_bits) as usize];
        if entry & LINK != 0 {
            let (offset, bits) = ((entry >> 16) as usize, entry & 0xf);
            let index = (reader.peek(self.primary_bits + bits) >> self.primary_bits) as usize;
            entry = self.table[offset + index];
        }
        let length = entry & 0xf;
        if length == 0 {
            return Err(InflateError::BadCode);
        }
        reader.consume(length);
        Ok((entry >> 16) as u16)
    }
}

/// The fixed literal/length and distance codes of RFC 1951 section 3.2.6, built once.
fn fixed_codes() -> &'static (Huffman, Huffman) {
    static FIXED: OnceLock<(Huffman, Huffman)> = OnceLock::new();
    FIXED.get_or_init(|| {
        let mut lengths = [0u8; 288];
        lengths[..144].fill(8);
        lengths[144..256].fill(9);
        lengths[256..280].fill(7);
        lengths[280..].fill(8);
        let litlen = Huffman::new(&lengths, LITLEN_BITS, false).expect("the fixed code is complete");
        let distance = Huffman::new(&[5u8; 32], DISTANCE_BITS, false).expect("the fixed code is complete");
        (litlen, distance)
    })
}

/// The output being written: `out[..filled]` is decoded so far.
struct Output<'a> {
    out: &'a mut [u8],
    filled: usize,
    /// Largest distance the header's window allows.
    window: usize,
}

impl Output<'_> {
    /// Appends one byte.
    #[inline]
    fn push(&mut self, byte: u8) -> Result<(), InflateError> {
        let slot = self.out.get_mut(self.filled).ok_or(InflateError::OutputTooLong)?;
        *slot = byte;
        self.filled += 1;
        Ok(())
    }

    /// Appends `length` bytes copied from `distance` bytes back, byte by byte when they overlap.
    #[inline]
    fn copy_match(&mut self, length: usize, distance: usize) -> Result<(), InflateError> {
        if distance > self.filled || distance > self.window {
            return Err(InflateError::DistanceTooFar);
        }
        let end = self.filled + length;
        if end > self.out.len() {
            return Err(InflateError::OutputTooLong);
        }
        let start = self.filled - distance;
        if distance >= length {
            self.out.copy_within(start..start + length, self.filled);
        } else {
            for i in self.filled..end {
                self.out[i] = self.out[i - distance];
            }
        }
        self.filled = end;
        Ok(())
    }

    /// Appends `bytes`.
    fn extend(&mut self, bytes: &[u8]) -> Result<(), InflateError> {
        let end = self.filled + bytes.len();
        let slot = self
            .out
            .get_mut(self.filled..end)
            .ok_or(InflateError::OutputTooLong)?;
        slot.copy_from_slice(bytes);
        self.filled = end;
        Ok(())
    }
}

/// Decodes a stored block's `LEN`, `NLEN` and bytes.
fn stored_block(reader: &mut BitReader, output: &mut Output) -> Result<(), InflateError> {
    reader.align_to_byte();
    let header = reader.take_bytes(4)?;
    let length = u16::from_le_bytes([header[0], header[1]]);
    let complement = u16::from_le_bytes([header[2], header[3]]);
    if length != !complement {
        return Err(InflateError::BadStoredLength);
    }
    output.extend(reader.take_bytes(length as usize)?)
}

/// Reads the `count` code lengths of a dynamic block's literal/length and distance codes, coded with
/// the code-length code `code` (symbols 16, 17, 18 repeat the previous length or zero).
fn read_code_lengths(reader: &mut BitReader, code: &Huffman, count: usize) -> Result<Vec<u8>, InflateError> {
    let mut lengths = Vec::with_capacity(count);
    while lengths.len() < count {
        reader.refill();
        let symbol = code.decode(reader)?;
        let (value, repeat) = match symbol {
            0..=15 => (symbol as u8, 1),
            16 => (
                *lengths.last().ok_or(InflateError::BadCodeLengths)?,
                3 + reader.take(2) as usize,
            ),
            17 => (0, 3 + reader.take(3) as usize),
            _ => (0, 11 + reader.take(7) as usize),
        };
        if lengths.len() + repeat > count {
            return Err(InflateError::BadCodeLengths);
        }
        lengths.resize(lengths.len() + repeat, value);
    }
    if reader.overrun() {
        return Err(InflateError::Truncated);
    }
    Ok(lengths)
}

/// Reads a dynamic block's header: its literal/length and distance codes.
fn dynamic_codes(reader: &mut BitReader) -> Result<(Huffman, Huffman), InflateError> {
    let litlen_count = reader.take(5) as usize + 257;
    let distance_count = reader.take(5) as usize + 1;
    let code_length_count = reader.take(4) as usize + 4;
    if litlen_count > 286 || distance_count > 30 {
        return Err(InflateError::BadCodeLengths);
    }
    let mut code_lengths = [0u8; 19];
    for &symbol in &CODE_LENGTH_ORDER[..code_length_count] {
        code_lengths[symbol] = reader.take(3) as u8;
    }
    let code = Huffman::new(&code_lengths, CODE_LENGTH_BITS, false)?;
    let lengths = read_code_lengths(reader, &code, litlen_count + distance_count)?;
    let (litlen, distance) = lengths.split_at(litlen_count);
    if litlen[END_OF_BLOCK as usize] == 0 {
        return Err(InflateError::BadCodeLengths);
    }
    Ok((
        Huffman::new(litlen, LITLEN_BITS, true)?,
        Huffman::new(distance, DISTANCE_BITS, true)?,
    ))
}

/// Decodes a Huffman-coded block's symbols with these codes, up to and including its end-of-block.
fn huffman_block(
    reader: &mut BitReader,
    output: &mut Output,
    litlen: &Huffman,
    distance: &Huffman,
) -> Result<(), InflateError> {
    loop {
        // 57 bits hold a whole length/distance pair: 15 + 5 + 15 + 13 bits.
        reader.refill();
        let symbol = litlen.decode(reader)?;
        if reader.overrun() {
            return Err(InflateError::Truncated);
        }
        if symbol < END_OF_BLOCK {
            output.push(symbol as u8)?;
            continue;
        }
        if symbol == END_OF_BLOCK {
            return Ok(());
        }
        let index = (symbol - 257) as usize;
        if index >= LENGTH_BASE.len() {
            return Err(InflateError::BadCode);
        }
        let length = LENGTH_BASE[index] as usize + reader.take(LENGTH_EXTRA[index] as u32) as usize;
        let distance_symbol = distance.decode(reader)? as usize;
        if distance_symbol >= DISTANCE_BASE.len() {
            return Err(InflateError::BadCode);
        }
        let extra = reader.take(DISTANCE_EXTRA[distance_symbol] as u32) as usize;
        if reader.overrun() {
            return Err(InflateError::Truncated);
        }
        output.copy_match(length, DISTANCE_BASE[distance_symbol] as usize + extra)?;
    }
}

/// The window size a zlib header declares, after checking it (method 8, `CINFO` at most 7, `FCHECK`,
/// no `FDICT`).
fn zlib_window(cmf: u8, flg: u8) -> Result<usize, InflateError> {
    if cmf & 0x0f != 8 || cmf >> 4 > 7 || !(cmf as u16 * 256 + flg as u16).is_multiple_of(31) {
        return Err(InflateError::BadHeader);
    }
    if flg & 0x20 != 0 {
        return Err(InflateError::PresetDictionary);
    }
    Ok(1 << ((cmf >> 4) + 8))
}

/// Adler-32 (RFC 1950 section 8.2) of `data`.
pub fn adler32(data: &[u8]) -> u32 {
    const MODULUS: u32 = 65521;
    // 5552 bytes is the most that can be summed before `b` could overflow a u32.
    let (mut a, mut b) = (1u32, 0u32);
    for chunk in data.chunks(5552) {
        for &byte in chunk {
            a += byte as u32;
            b += a;
        }
        a %= MODULUS;
        b %= MODULUS;
    }
    b << 16 | a
}

/// Decodes the raw DEFLATE blocks at the start of `reader` into `output` up to the final block.
fn inflate_blocks(reader: &mut BitReader, output: &mut Output) -> Result<(), InflateError> {
    loop {
        let header = reader.take(3);
        if reader.overrun() {
            return Err(InflateError::Truncated);
        }
        match header >> 1 {
            0 => stored_block(reader, output)?,
            1 => {
                let (litlen, distance) = fixed_codes();
                huffman_block(reader, output, litlen, distance)?
            }
            2 => {
                let (litlen, distance) = dynamic_codes(reader)?;
                huffman_block(reader, output, &litlen, &distance)?
            }
            _ => return Err(InflateError::BadBlockType),
        }
        if header & 1 == 1 {
            return Ok(());
        }
    }
}

/// Decodes the zlib stream `data` into `out`, which it must fill exactly; `data` must end with the
/// stream's Adler-32, and it must match.
pub fn inflate_zlib(data: &[u8], out: &mut [u8]) -> Result<(), InflateError> {
    let [cmf, flg, ..] = *data else {
        return Err(InflateError::Truncated);
    };
    let window = zlib_window(cmf, flg)?;
    let mut reader = BitReader::new(&data[2..]);
    let mut output = Output {
        out,
        filled: 0,
        window,
    };
    inflate_blocks(&mut reader, &mut output)?;
    if output.filled != output.out.len() {
        return Err(InflateError::OutputTooShort);
    }
    reader.align_to_byte();
    let checksum = reader.take_bytes(4)?;
    if reader.bytes_consumed() != reader.data.len() {
        return Err(InflateError::TrailingBytes);
    }
    if u32::from_be_bytes([checksum[0], checksum[1], checksum[2], checksum[3]]) != adler32(output.out) {
        return Err(InflateError::AdlerMismatch);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes bits least significant first, as DEFLATE packs them.
    struct BitWriter {
        bytes: Vec<u8>,
        bit: u32,
    }

    impl BitWriter {
        fn new() -> Self {
            BitWriter {
                bytes: Vec::new(),
                bit: 0,
            }
        }

        /// Appends the low `n` bits of `value`, lowest first (header fields and extra bits).
        fn bits(&mut self, value: u32, n: u32) {
            for i in 0..n {
                if self.bit == 0 {
                    self.bytes.push(0);
                }
                let last = self.bytes.len() - 1;
                self.bytes[last] |= (((value >> i) & 1) as u8) << self.bit;
                self.bit = (self.bit + 1) % 8;
            }
        }

        /// Appends a Huffman code of `n` bits, most significant first.
        fn code(&mut self, code: u32, n: u32) {
            self.bits(reverse_bits(code, n), n);
        }

        /// Pads to a byte boundary.
        fn align(&mut self) {
            self.bit = 0;
        }

        /// The fixed code of a literal/length symbol.
        fn fixed_symbol(&mut self, symbol: u32) {
            match symbol {
                0..=143 => self.code(0x30 + symbol, 8),
                144..=255 => self.code(0x190 + symbol - 144, 9),
                256..=279 => self.code(symbol - 256, 7),
                _ => self.code(0xc0 + symbol - 280, 8),
            }
        }
    }

    /// A zlib stream around the raw DEFLATE data `deflate` for the output `expected`.
    fn zlib(deflate: &[u8], expected: &[u8]) -> Vec<u8> {
        let mut stream = vec![0x78, 0x01];
        stream.extend_from_slice(deflate);
        stream.extend_from_slice(&adler32(expected).to_be_bytes());
        stream
    }

    fn inflate(stream: &[u8], size: usize) -> Result<Vec<u8>, InflateError> {
        let mut out = vec![0xaa; size];
        inflate_zlib(stream, &mut out).map(|()| out)
    }

    /// Raw DEFLATE of stored blocks, one per part, the last final.
    fn stored(parts: &[&[u8]]) -> Vec<u8> {
        let mut writer = BitWriter::new();
        for (i, part) in parts.iter().enumerate() {
            writer.bits((i + 1 == parts.len()) as u32, 1);
            writer.bits(0, 2);
            writer.align();
            writer.bits(part.len() as u32, 16);
            writer.bits(!(part.len() as u32) & 0xffff, 16);
            writer.bytes.extend_from_slice(part);
        }
        writer.bytes
    }

    #[test]
    fn adler32_matches_known_values() {
        assert_eq!(adler32(b""), 1);
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
        let long = vec![0xffu8; 100_000];
        let (mut a, mut b) = (1u64, 0u64);
        for &byte in &long {
            a = (a + byte as u64) % 65521;
            b = (b + a) % 65521;
        }
        assert_eq!(adler32(&long), (b << 16 | a) as u32);
    }

    #[test]
    fn stored_blocks_including_an_empty_one() {
        let data = b"hello, stored world";
        let stream = zlib(&stored(&[&data[..5], b"", &data[5..]]), data);
        assert_eq!(inflate(&stream, data.len()).unwrap(), data);
        let empty = zlib(&stored(&[b""]), b"");
        assert_eq!(inflate(&empty, 0).unwrap(), b"");
    }

    #[test]
    fn stored_block_with_bad_nlen_is_refused() {
        let mut raw = stored(&[b"abc"]);
        raw[3] ^= 1;
        assert_eq!(
            inflate(&zlib(&raw, b"abc"), 3),
            Err(InflateError::BadStoredLength)
        );
    }

    /// A fixed-Huffman stream of literals `prefix` then (length, distance) matches.
    fn fixed(prefix: &[u8], matches: &[(u32, u32)]) -> Vec<u8> {
        let mut writer = BitWriter::new();
        writer.bits(1, 1);
        writer.bits(1, 2);
        for &byte in prefix {
            writer.fixed_symbol(byte as u32);
        }
        for &(length, distance) in matches {
            let index = LENGTH_BASE
                .iter()
                .rposition(|&base| base as u32 <= length)
                .unwrap();
            writer.fixed_symbol(257 + index as u32);
            writer.bits(length - LENGTH_BASE[index] as u32, LENGTH_EXTRA[index] as u32);
            let d = DISTANCE_BASE
                .iter()
                .rposition(|&base| base as u32 <= distance)
                .unwrap();
            writer.code(d as u32, 5);
            writer.bits(distance - DISTANCE_BASE[d] as u32, DISTANCE_EXTRA[d] as u32);
        }
        writer.fixed_symbol(256);
        writer.bytes
    }

    /// What `fixed(prefix, matches)` decodes to.
    fn expand(prefix: &[u8], matches: &[(u32, u32)]) -> Vec<u8> {
        let mut out = prefix.to_vec();
        for &(length, distance) in matches {
            for _ in 0..length {
                out.push(out[out.len() - distance as usize]);
            }
        }
        out
    }

    #[test]
    fn fixed_huffman_literals_and_overlapping_copies() {
        let prefix: Vec<u8> = (0..=255).collect();
        let matches = [(3, 1), (258, 2), (10, 256), (258, 258), (4, 3)];
        let expected = expand(&prefix, &matches);
        let stream = zlib(&fixed(&prefix, &matches), &expected);
        assert_eq!(inflate(&stream, expected.len()).unwrap(), expected);
    }

    #[test]
    fn distance_32768_reaches_the_first_byte() {
        let first: Vec<u8> = (0..32768u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut deflate = stored(&[&first[..16384], &first[16384..]]);
        // `stored` marks its last block final; clear that bit, then append a final fixed block.
        let last_header = 5 + 16384;
        deflate[last_header] &= !1;
        deflate.extend(fixed(b"", &[(258, 32768), (5, 32768)]));
        let expected = expand(&first, &[(258, 32768), (5, 32768)]);
        let stream = zlib(&deflate, &expected);
        assert_eq!(inflate(&stream, expected.len()).unwrap(), expected);
        let too_far = zlib(&fixed(b"ab", &[(3, 3)]), b"ababa");
        assert_eq!(inflate(&too_far, 5), Err(InflateError::DistanceTooFar));
    }

    #[test]
    fn window_declared_by_the_header_bounds_distances() {
        let prefix = vec![1u8; 300];
        let expected = expand(&prefix, &[(3, 300)]);
        let mut stream = zlib(&fixed(&prefix, &[(3, 300)]), &expected);
        assert_eq!(inflate(&stream, expected.len()).unwrap(), expected);
        // CINFO 0: a 256-byte window. 0x08 * 256 + 0x1d is a multiple of 31.
        stream[0] = 0x08;
        stream[1] = 0x1d;
        assert_eq!(
            inflate(&stream, expected.len()),
            Err(InflateError::DistanceTooFar)
        );
    }

    /// A dynamic block coding `text` as literals with a code built from explicit `litlen` lengths.
    fn dynamic_literals(text: &[u8], litlen: &[u8], distance: &[u8]) -> Vec<u8> {
        let mut writer = BitWriter::new();
        writer.bits(1, 1);
        writer.bits(2, 2);
        writer.bits(litlen.len() as u32 - 257, 5);
        writer.bits(distance.len() as u32 - 1, 5);
        writer.bits(19 - 4, 4);
        // Code-length code: every length symbol 0..=15 gets 4 bits, 16..=18 unused... that is 16 codes
        // of 4 bits: complete.
        let mut cl_lengths = [0u8; 19];
        cl_lengths[..16].fill(4);
        for &symbol in &CODE_LENGTH_ORDER {
            writer.bits(cl_lengths[symbol] as u32, 3);
        }
        for &length in litlen.iter().chain(distance) {
            writer.code(length as u32, 4);
        }
        let codes = canonical(litlen);
        for &byte in text {
            let (code, n) = codes[byte as usize];
            writer.code(code, n);
        }
        let (code, n) = codes[256];
        writer.code(code, n);
        writer.bytes
    }

    /// Canonical (code, length) of every symbol with these lengths.
    fn canonical(lengths: &[u8]) -> Vec<(u32, u32)> {
        let mut count = [0u32; 16];
        for &l in lengths {
            count[l as usize] += 1;
        }
        count[0] = 0;
        let mut next = [0u32; 17];
        for l in 1..16 {
            next[l + 1] = (next[l] + count[l]) << 1;
        }
        lengths
            .iter()
            .map(|&l| {
                if l == 0 {
                    return (0, 0);
                }
                let code = next[l as usize];
                next[l as usize] += 1;
                (code, l as u32)
            })
            .collect()
    }

    /// Literal/length lengths: 'a'..='p' (16 symbols) and end-of-block... made complete with lengths up
    /// to 15 so that second-level tables are used.
    fn long_code_lengths() -> Vec<u8> {
        let mut lengths = vec![0u8; 257];
        // Lengths 1, 2, ..., 14, 15, 15: a complete code of 16 symbols.
        let symbols: Vec<usize> = (b'a'..=b'o').map(|b| b as usize).chain([256]).collect();
        for (i, &symbol) in symbols.iter().enumerate() {
            lengths[symbol] = (i + 1).min(15) as u8;
        }
        lengths
    }

    #[test]
    fn dynamic_huffman_with_long_codes() {
        let lengths = long_code_lengths();
        let text = b"aaabacabcdefghijklmnoonmlkjihgfedcba";
        let stream = zlib(&dynamic_literals(text, &lengths, &[1]), text);
        assert_eq!(inflate(&stream, text.len()).unwrap(), text);
    }

    #[test]
    fn incomplete_and_oversubscribed_codes_are_refused() {
        let mut lengths = long_code_lengths();
        lengths[b'o' as usize] = 0; // incomplete
        let stream = zlib(&dynamic_literals(b"ab", &lengths, &[1]), b"ab");
        assert_eq!(inflate(&stream, 2), Err(InflateError::BadCodeLengths));
        lengths[b'o' as usize] = 1; // over-subscribed
        let stream = zlib(&dynamic_literals(b"ab", &lengths, &[1]), b"ab");
        assert_eq!(inflate(&stream, 2), Err(InflateError::BadCodeLengths));
    }

    #[test]
    fn a_lone_end_of_block_code_is_accepted() {
        let mut lengths = vec![0u8; 257];
        lengths[256] = 1;
        let stream = zlib(&dynamic_literals(b"", &lengths, &[0]), b"");
        assert_eq!(inflate(&stream, 0).unwrap(), b"");
    }

    #[test]
    fn output_size_must_match_exactly() {
        let data = b"exactly";
        let stream = zlib(&stored(&[data]), data);
        assert_eq!(inflate(&stream, 6), Err(InflateError::OutputTooLong));
        assert_eq!(inflate(&stream, 8), Err(InflateError::OutputTooShort));
        let stream = zlib(&fixed(b"ab", &[(5, 2)]), b"abababa");
        assert_eq!(inflate(&stream, 6), Err(InflateError::OutputTooLong));
    }

    #[test]
    fn header_trailer_and_truncation_errors() {
        let data = b"checksum";
        let good = zlib(&fixed(data, &[]), data);
        assert_eq!(inflate(&good, data.len()).unwrap(), data);
        let mut bad_check = good.clone();
        bad_check[1] ^= 1;
        assert_eq!(inflate(&bad_check, data.len()), Err(InflateError::BadHeader));
        let mut method = good.clone();
        method[0] = 0x79;
        assert_eq!(inflate(&method, data.len()), Err(InflateError::BadHeader));
        let dictionary = [0x78, 0xbb, 0, 0, 0, 1];
        assert_eq!(inflate(&dictionary, 0), Err(InflateError::PresetDictionary));
        let mut adler = good.clone();
        *adler.last_mut().unwrap() ^= 1;
        assert_eq!(inflate(&adler, data.len()), Err(InflateError::AdlerMismatch));
        let mut trailing = good.clone();
        trailing.push(0);
        assert_eq!(inflate(&trailing, data.len()), Err(InflateError::TrailingBytes));
        for cut in 0..good.len() {
            assert!(inflate(&good[..cut], data.len()).is_err(), "cut at {cut}");
        }
        let mut reserved = vec![0x78, 0x01];
        reserved.push(0b111);
        assert_eq!(inflate(&reserved, 0), Err(InflateError::BadBlockType));
    }

    #[test]
    fn unused_length_and_distance_symbols_are_refused() {
        let mut writer = BitWriter::new();
        writer.bits(1, 1);
        writer.bits(1, 2);
        writer.fixed_symbol(b'x' as u32);
        writer.fixed_symbol(286);
        writer.fixed_symbol(256);
        assert_eq!(inflate(&zlib(&writer.bytes, b"x"), 1), Err(InflateError::BadCode));
        let mut writer = BitWriter::new();
        writer.bits(1, 1);
        writer.bits(1, 2);
        writer.fixed_symbol(b'x' as u32);
        writer.fixed_symbol(257);
        writer.code(30, 5);
        writer.fixed_symbol(256);
        assert_eq!(
            inflate(&zlib(&writer.bytes, b"xxxx"), 4),
            Err(InflateError::BadCode)
        );
    }

    #[test]
    fn random_corruptions_never_panic() {
        let prefix: Vec<u8> = (0..200u32).map(|i| (i * i % 7) as u8).collect();
        let matches = [(20, 3), (258, 100), (7, 1)];
        let expected = expand(&prefix, &matches);
        let good = zlib(&fixed(&prefix, &matches), &expected);
        let mut state = 99u32;
        for _ in 0..5000 {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let mut stream = good.clone();
            let at = (state >> 8) as usize % stream.len();
            stream[at] ^= 1 << (state % 8);
            if let Ok(out) = inflate(&stream, expected.len()) {
                // Only a flip that leaves the output the same can pass the Adler-32 check... or a
                // collision, which such tiny changes cannot produce.
                assert_eq!(out, expected);
            }
        }
    }
}
