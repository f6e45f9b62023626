//! The encoder network of `mnistvec/models/encoder.py`, for inference: 28x28 images in, strokes' raw numbers
//! out.
//!
//! ```text
//! x [28, 28] (+ 2 coordinate planes) -> conv 3x3 (c) -> GN -> GELU -> conv 3x3 stride 2 (2c) -> GN -> GELU
//!   -> conv 3x3 stride 2 (4c) -> GN -> GELU -> flatten (4c * 7 * 7) -> linear (hidden) -> GELU
//!   -> linear (outputs)
//! ```
//!
//! Activations are pixel-major: a pixel's channels lie side by side (`[H W, C]`). A convolution (padding 1)
//! is then one product ([`gemm`]) of its im2col rows, one per output pixel holding its 3x3 neighbourhood's
//! channels in the order `[(ky, kx), c]` (zeros outside the image), with the weights as a `[9 C_in, C_out]`
//! matrix. Group norm, per image, with 8 groups: `y = (x - mean_g) / sqrt(var_g + 1e-5) * gamma_c + beta_c`,
//! the mean and the (biased) variance over each group's channels and pixels. Torch flattens channel-major
//! (`c * 49 + p`); the first linear layer's weights are packed with their columns in pixel-major order
//! (`p * 4c + c`) instead, so the pixel-major activations are its input as they are. The coordinate planes
//! hold each pixel's x and y in `[-1, 1]` (`-1 + 2 j / 27`).
//!
//! The weights come in torch's layout and order (the state dict's: each conv's weight `[out, in, 3, 3]`
//! and bias, its group norm's weight and bias, then the two linear layers' weight `[out, in]` and bias),
//! and are packed once ([`pack_weights`]) for [`encode_images`]. Images are independent: the result for
//! an image does not depend on the batch or the number of threads.

use crate::gelu::{gelu, gelu_in_place};
use crate::gemm::{self, padded_rows, Packed, NR};
use crate::parallel::{available_threads, for_each_run, MAX_THREADS};

/// Side of the input canvas.
pub const SIDE: usize = 28;
/// Side after the two stride-2 convolutions.
const SIDE_OUT: usize = 7;
/// Groups of every group norm.
pub const GROUPS: usize = 8;
const NORM_EPS: f64 = 1e-5;
/// Images whose first linear layer runs as one product (its weights are read once per this many images).
const CHUNK: usize = 128;
/// Images below which another thread is not worth starting.
const MIN_IMAGES_PER_THREAD: usize = 8;
/// The largest sizes accepted (far beyond any model; they keep every size computation in range).
pub const MAX_CHANNELS: usize = 1 << 12;
pub const MAX_WIDTH: usize = 1 << 16;

/// The network's sizes: `in_planes` 1 (the image) or 3 (with the coordinate planes), `channels` (c, a
/// multiple of `GROUPS`), `hidden` and `outputs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dims {
    pub in_planes: usize,
    pub channels: usize,
    pub hidden: usize,
    pub outputs: usize,
}

/// One conv stage's sizes.
#[derive(Clone, Copy, Debug)]
struct Stage {
    inputs: usize,
    outputs: usize,
    side_in: usize,
    stride: usize,
}

impl Stage {
    fn side_out(&self) -> usize {
        (self.side_in - 1) / self.stride + 1
    }
    fn rows(&self) -> usize {
        self.side_out() * self.side_out()
    }
    fn depth(&self) -> usize {
        9 * self.inputs
    }
}

impl Dims {
    /// Whether the sizes are ones this module runs.
    pub fn valid(&self) -> bool {
        matches!(self.in_planes, 1 | 3)
            && self.channels >= GROUPS
            && self.channels.is_multiple_of(GROUPS)
            && self.channels <= MAX_CHANNELS
            && (1..=MAX_WIDTH).contains(&self.hidden)
            && (1..=MAX_WIDTH).contains(&self.outputs)
    }

    fn stages(&self) -> [Stage; 3] {
        let c = self.channels;
        [
            Stage {
                inputs: self.in_planes,
                outputs: c,
                side_in: SIDE,
                stride: 1,
            },
            Stage {
                inputs: c,
                outputs: 2 * c,
                side_in: SIDE,
                stride: 2,
            },
            Stage {
                inputs: 2 * c,
                outputs: 4 * c,
                side_in: SIDE / 2,
                stride: 2,
            },
        ]
    }

    fn features(&self) -> usize {
        4 * self.channels * SIDE_OUT * SIDE_OUT
    }

    /// Floats of the weights in torch's layout.
    pub fn torch_len(&self) -> usize {
        let convs: usize = self.stages().iter().map(|s| s.outputs * (s.depth() + 3)).sum();
        convs + self.hidden * (self.features() + 1) + self.outputs * (self.hidden + 1)
    }

    /// Floats of the packed weights.
    pub fn packed_len(&self) -> usize {
        let convs: usize = self
            .stages()
            .iter()
            .map(|s| gemm::packed_len(s.depth(), s.outputs) + 2 * s.outputs)
            .sum();
        convs + gemm::packed_len(self.features(), self.hidden) + gemm::packed_len(self.hidden, self.outputs)
    }
}

/// Consecutive pieces of a slice.
struct Cursor<'a> {
    rest: &'a [f32],
}

impl<'a> Cursor<'a> {
    fn take(&mut self, len: usize) -> &'a [f32] {
        let (head, tail) = self.rest.split_at(len);
        self.rest = tail;
        head
    }
}

/// Packs weights in torch's layout (`dims.torch_len()` floats) into `out` (`dims.packed_len()`).
pub fn pack_weights(dims: Dims, torch: &[f32], out: &mut [f32]) {
    assert!(dims.valid(), "encoder sizes");
    assert_eq!(torch.len(), dims.torch_len(), "weights in torch's layout");
    assert_eq!(out.len(), dims.packed_len(), "packed weights");
    let mut from = Cursor { rest: torch };
    let mut to = &mut out[..];
    let mut put = |len: usize| {
        let (head, tail) = std::mem::take(&mut to).split_at_mut(len);
        to = tail;
        head
    };
    for stage in dims.stages() {
        let (depth, n, c_in) = (stage.depth(), stage.outputs, stage.inputs);
        let (weight, bias) = (from.take(n * depth), from.take(n));
        // row (ky * 3 + kx) * c_in + ci of the product's weights is torch's weight[j, ci, ky, kx]
        let get = |q: usize, j: usize| weight[j * depth + (q % c_in) * 9 + q / c_in];
        gemm::pack(depth, n, bias, get, put(gemm::packed_len(depth, n)));
        put(n).copy_from_slice(from.take(n));
        put(n).copy_from_slice(from.take(n));
    }
    let (features, hidden, c4) = (dims.features(), dims.hidden, 4 * dims.channels);
    let pixels = SIDE_OUT * SIDE_OUT;
    let (weight, bias) = (from.take(hidden * features), from.take(hidden));
    // row p * 4c + c (pixel-major) is torch's column c * 49 + p (channel-major)
    let get = |q: usize, j: usize| weight[j * features + (q % c4) * pixels + q / c4];
    gemm::pack(
        features,
        hidden,
        bias,
        get,
        put(gemm::packed_len(features, hidden)),
    );
    let (weight, bias) = (from.take(dims.outputs * hidden), from.take(dims.outputs));
    let get = |q: usize, j: usize| weight[j * hidden + q];
    gemm::pack(
        hidden,
        dims.outputs,
        bias,
        get,
        put(gemm::packed_len(hidden, dims.outputs)),
    );
}

/// A conv stage's packed weights and its group norm's affine parameters.
struct ConvLayer<'a> {
    stage: Stage,
    weights: Packed<'a>,
    gamma: &'a [f32],
    beta: &'a [f32],
}

/// The packed network.
struct Network<'a> {
    convs: Vec<ConvLayer<'a>>,
    hidden: Packed<'a>,
    head: Packed<'a>,
    dims: Dims,
    /// Whether the AVX2 code runs (where the processor has it); the portable code otherwise.
    fused: bool,
}

impl<'a> Network<'a> {
    fn new(dims: Dims, packed: &'a [f32]) -> Self {
        assert!(dims.valid(), "encoder sizes");
        assert_eq!(packed.len(), dims.packed_len(), "packed weights");
        let mut from = Cursor { rest: packed };
        let matrix = |k: usize, n: usize, from: &mut Cursor<'a>| Packed {
            k,
            n,
            data: from.take(gemm::packed_len(k, n)),
        };
        let convs = dims
            .stages()
            .into_iter()
            .map(|stage| ConvLayer {
                stage,
                weights: matrix(stage.depth(), stage.outputs, &mut from),
                gamma: from.take(stage.outputs),
                beta: from.take(stage.outputs),
            })
            .collect();
        let hidden = matrix(dims.features(), dims.hidden, &mut from);
        let head = matrix(dims.hidden, dims.outputs, &mut from);
        Network {
            convs,
            hidden,
            head,
            dims,
            fused: gemm::fused_kernel(),
        }
    }
}

/// Row stride of a product's output with `n` columns (whole panels).
fn stride(n: usize) -> usize {
    n.div_ceil(NR) * NR
}

/// One thread's buffers, reused from image to image.
struct Workspace {
    planes: Vec<f32>,
    columns: Vec<f32>,
    activations: [Vec<f32>; 3],
    features: Vec<f32>,
    hidden: Vec<f32>,
    head: Vec<f32>,
}

impl Workspace {
    fn new(net: &Network) -> Self {
        let convs = &net.convs;
        let columns = convs
            .iter()
            .map(|l| padded_rows(l.stage.rows()) * l.stage.depth())
            .max()
            .unwrap_or(0);
        let activation = |l: &ConvLayer| vec![0.0; padded_rows(l.stage.rows()) * stride(l.stage.outputs)];
        let rows = padded_rows(CHUNK);
        Workspace {
            planes: vec![0.0; SIDE * SIDE * net.dims.in_planes],
            columns: vec![0.0; columns],
            activations: [
                activation(&convs[0]),
                activation(&convs[1]),
                activation(&convs[2]),
            ],
            features: vec![0.0; rows * net.dims.features()],
            hidden: vec![0.0; rows * stride(net.dims.hidden)],
            head: vec![0.0; rows * stride(net.dims.outputs)],
        }
    }
}

/// The im2col rows of a stage (module docs): `source` holds `side_in^2` pixels of `stage.inputs`
/// channels at row stride `ld`.
#[inline(always)]
fn im2col(stage: Stage, source: &[f32], ld: usize, columns: &mut [f32]) {
    let (c, side, side_out) = (stage.inputs, stage.side_in, stage.side_out());
    let depth = stage.depth();
    for oy in 0..side_out {
        for ky in 0..3 {
            let iy = (oy * stage.stride + ky).wrapping_sub(1); // usize::MAX above the image
            for kx in 0..3 {
                let tap = (ky * 3 + kx) * c;
                for ox in 0..side_out {
                    let ix = (ox * stage.stride + kx).wrapping_sub(1);
                    let cell = &mut columns[(oy * side_out + ox) * depth + tap..][..c];
                    if iy < side && ix < side {
                        let pixel = iy * side + ix;
                        copy_floats(cell, &source[pixel * ld..pixel * ld + c]);
                    } else {
                        cell.fill(0.0);
                    }
                }
            }
        }
    }
}

/// `to.copy_from_slice(from)` for the short runs of im2col: eight floats at a time where the length allows
/// (moves the compiler writes out, where a copy of unknown length would be a call).
#[inline(always)]
fn copy_floats(to: &mut [f32], from: &[f32]) {
    if to.len().is_multiple_of(8) {
        for (t, f) in to.chunks_exact_mut(8).zip(from.chunks_exact(8)) {
            let t: &mut [f32; 8] = t.try_into().expect("eight floats");
            *t = f.try_into().expect("eight floats");
        }
    } else {
        for (t, f) in to.iter_mut().zip(from) {
            *t = *f;
        }
    }
}

/// Group norm and GELU, in place, on `rows` pixels of `channels` channels at row stride `ld`.
///
/// Each channel's sum and sum of squares are accumulated in f64, and a group's variance is
/// `E[x^2] - E[x]^2` of its channels' (in f64, where the cancellation costs nothing at these sizes).
#[inline(always)]
fn norm_gelu(values: &mut [f32], rows: usize, channels: usize, ld: usize, gamma: &[f32], beta: &[f32]) {
    let mut sums = vec![0.0f64; channels];
    let mut squares = vec![0.0f64; channels];
    for row in values.chunks_exact(ld).take(rows) {
        for ((sum, square), &v) in sums.iter_mut().zip(squares.iter_mut()).zip(&row[..channels]) {
            let v = v as f64;
            *sum += v;
            *square += v * v;
        }
    }
    let per_group = channels / GROUPS;
    let count = (rows * per_group) as f64;
    let mut scale = vec![0.0f32; channels];
    let mut shift = vec![0.0f32; channels];
    for g in 0..GROUPS {
        let group = g * per_group..(g + 1) * per_group;
        let mean = sums[group.clone()].iter().sum::<f64>() / count;
        let variance = (squares[group.clone()].iter().sum::<f64>() / count - mean * mean).max(0.0);
        let inverse = 1.0 / (variance + NORM_EPS).sqrt();
        for c in group {
            scale[c] = (gamma[c] as f64 * inverse) as f32;
            shift[c] = (beta[c] as f64 - mean * gamma[c] as f64 * inverse) as f32;
        }
    }
    for row in values.chunks_exact_mut(ld).take(rows) {
        for ((value, &a), &b) in row[..channels].iter_mut().zip(&scale).zip(&shift) {
            *value = gelu(*value * a + b);
        }
    }
}

/// The conv stages of one image: its features, pixel-major (`features()` floats), into `features`.
#[inline(always)]
fn conv_features(net: &Network, image: &[f32], work: &mut Workspace, features: &mut [f32]) {
    let planes = net.dims.in_planes;
    for (pixel, cell) in work.planes.chunks_exact_mut(planes).enumerate() {
        cell[0] = image[pixel];
        if planes == 3 {
            let step = 2.0 / (SIDE - 1) as f32;
            cell[1] = -1.0 + step * (pixel % SIDE) as f32;
            cell[2] = -1.0 + step * (pixel / SIDE) as f32;
        }
    }
    let Workspace {
        planes: input,
        columns,
        activations,
        ..
    } = work;
    let mut source: &[f32] = input;
    let mut ld = planes;
    for (layer, out) in net.convs.iter().zip(activations.iter_mut()) {
        let stage = layer.stage;
        im2col(stage, source, ld, columns);
        let ldc = stride(stage.outputs);
        gemm::gemm(
            stage.rows(),
            columns,
            stage.depth(),
            layer.weights,
            out,
            ldc,
            net.fused,
        );
        norm_gelu(out, stage.rows(), stage.outputs, ldc, layer.gamma, layer.beta);
        source = out;
        ld = ldc;
    }
    let c4 = 4 * net.dims.channels;
    for (pixel, cell) in features.chunks_exact_mut(c4).enumerate() {
        cell.copy_from_slice(&source[pixel * ld..pixel * ld + c4]);
    }
}

/// Encodes `images` (`[count, 28, 28]`, consecutive) into `out` (`[count, outputs]`) on one thread: the
/// same code compiled for AVX2 where the processor has it (wider vectors, the same operations in the same
/// order: the same numbers), else for any processor.
fn encode_run(net: &Network, images: &[f32], out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if net.fused && gemm::fused_kernel() {
        // SAFETY: `fused_kernel` says the processor has AVX2 and FMA.
        return unsafe { encode_run_avx2(net, images, out) };
    }
    encode_run_body(net, images, out)
}

/// [`encode_run_body`] compiled for AVX2.
///
/// # Safety
/// The processor must have AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn encode_run_avx2(net: &Network, images: &[f32], out: &mut [f32]) {
    encode_run_body(net, images, out)
}

#[inline(always)]
fn encode_run_body(net: &Network, images: &[f32], out: &mut [f32]) {
    let mut work = Workspace::new(net);
    let (features, outputs) = (net.dims.features(), net.dims.outputs);
    let (ldh, ldo) = (stride(net.dims.hidden), stride(outputs));
    for (chunk, out) in images
        .chunks(CHUNK * SIDE * SIDE)
        .zip(out.chunks_mut(CHUNK * outputs))
    {
        let count = chunk.len() / (SIDE * SIDE);
        let mut rows = std::mem::take(&mut work.features);
        for (image, row) in chunk
            .chunks_exact(SIDE * SIDE)
            .zip(rows.chunks_exact_mut(features))
        {
            conv_features(net, image, &mut work, row);
        }
        gemm::gemm(
            count,
            &rows,
            features,
            net.hidden,
            &mut work.hidden,
            ldh,
            net.fused,
        );
        work.features = rows;
        for row in work.hidden.chunks_exact_mut(ldh).take(count) {
            gelu_in_place(&mut row[..net.dims.hidden]);
        }
        gemm::gemm(count, &work.hidden, ldh, net.head, &mut work.head, ldo, net.fused);
        for (row, raw) in work.head.chunks_exact(ldo).zip(out.chunks_exact_mut(outputs)) {
            raw.copy_from_slice(&row[..outputs]);
        }
    }
}

/// How many threads to use for `images` images: `requested` (0: the machine's), at most one per
/// `MIN_IMAGES_PER_THREAD` images and at most `MAX_THREADS`.
pub fn thread_count(requested: u32, images: usize) -> usize {
    let useful = images.div_ceil(MIN_IMAGES_PER_THREAD).clamp(1, MAX_THREADS);
    let requested = if requested == 0 {
        available_threads()
    } else {
        requested as usize
    };
    requested.clamp(1, useful)
}

/// Runs the network (weights from [`pack_weights`]) on `images` (`[count, 28, 28]`) into `out`
/// (`[count, outputs]`), on up to `threads` threads (0: the machine's).
pub fn encode_images(dims: Dims, packed: &[f32], images: &[f32], threads: u32, out: &mut [f32]) {
    let net = Network::new(dims, packed);
    let count = images.len() / (SIDE * SIDE);
    assert_eq!(images.len(), count * SIDE * SIDE, "whole images");
    assert_eq!(out.len(), count * dims.outputs, "one row of outputs per image");
    let threads = thread_count(threads, count);
    for_each_run(out, dims.outputs, threads, |first, run| {
        let images = &images[first * SIDE * SIDE..][..run.len() / dims.outputs * SIDE * SIDE];
        encode_run(&net, images, run)
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gemm::tests::noise;

    /// The network written out directly from its definition, in f64, on torch's layout.
    fn reference(dims: Dims, torch: &[f32], image: &[f32]) -> Vec<f64> {
        let mut from = Cursor { rest: torch };
        let side = SIDE;
        // channel-major [C, H, W], as torch holds it
        let mut x: Vec<f64> = image.iter().map(|&v| v as f64).collect();
        if dims.in_planes == 3 {
            let step = 2.0 / (side - 1) as f64;
            x.extend((0..side * side).map(|p| -1.0 + step * (p % side) as f64));
            x.extend((0..side * side).map(|p| -1.0 + step * (p / side) as f64));
        }
        let mut channels = dims.in_planes;
        let mut size = side;
        for (stride, out_c) in [(1, dims.channels), (2, 2 * dims.channels), (2, 4 * dims.channels)] {
            let (w, b) = (from.take(out_c * channels * 9), from.take(out_c));
            let (gamma, beta) = (from.take(out_c), from.take(out_c));
            let out_size = (size - 1) / stride + 1;
            let mut y = vec![0.0f64; out_c * out_size * out_size];
            for o in 0..out_c {
                for oy in 0..out_size {
                    for ox in 0..out_size {
                        let mut sum = b[o] as f64;
                        for ci in 0..channels {
                            for ky in 0..3 {
                                for kx in 0..3 {
                                    let (iy, ix) =
                                        ((oy * stride + ky) as isize - 1, (ox * stride + kx) as isize - 1);
                                    if iy >= 0 && ix >= 0 && (iy as usize) < size && (ix as usize) < size {
                                        let v = x[(ci * size + iy as usize) * size + ix as usize];
                                        sum += w[((o * channels + ci) * 3 + ky) * 3 + kx] as f64 * v;
                                    }
                                }
                            }
                        }
                        y[(o * out_size + oy) * out_size + ox] = sum;
                    }
                }
            }
            let per_group = out_c / GROUPS * out_size * out_size;
            for (g, group) in y.chunks_exact_mut(per_group).enumerate() {
                let mean = group.iter().sum::<f64>() / per_group as f64;
                let var = group.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / per_group as f64;
                for (k, v) in group.iter_mut().enumerate() {
                    let c = g * (out_c / GROUPS) + k / (out_size * out_size);
                    let normed = (*v - mean) / (var + 1e-5).sqrt() * gamma[c] as f64 + beta[c] as f64;
                    *v = gelu_f64(normed);
                }
            }
            x = y;
            channels = out_c;
            size = out_size;
        }
        let linear = |x: &[f64], n: usize, from: &mut Cursor| -> Vec<f64> {
            let (w, b) = (from.take(n * x.len()), from.take(n));
            (0..n)
                .map(|j| {
                    b[j] as f64
                        + x.iter()
                            .enumerate()
                            .map(|(q, v)| w[j * x.len() + q] as f64 * v)
                            .sum::<f64>()
                })
                .collect()
        };
        let h: Vec<f64> = linear(&x, dims.hidden, &mut from)
            .into_iter()
            .map(gelu_f64)
            .collect();
        linear(&h, dims.outputs, &mut from)
    }

    fn gelu_f64(x: f64) -> f64 {
        x * 0.5 * (1.0 + erf(x / std::f64::consts::SQRT_2))
    }

    /// erf by its Taylor series, and its sign beyond |z| = 5 (where it is 1 to 1.5e-12).
    fn erf(z: f64) -> f64 {
        if z.abs() > 5.0 {
            return z.signum();
        }
        let (mut term, mut sum) = (z, z);
        for n in 1..300 {
            term *= -z * z / n as f64;
            sum += term / (2 * n + 1) as f64;
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    }

    fn network(dims: Dims, seed: u64) -> Vec<f32> {
        (0..dims.torch_len()).map(|i| 0.3 * noise(seed, i)).collect()
    }

    fn images(count: usize, seed: u64) -> Vec<f32> {
        (0..count * SIDE * SIDE)
            .map(|i| (noise(seed, i) + 1.0) / 2.0)
            .collect()
    }

    fn run(dims: Dims, torch: &[f32], images: &[f32], threads: u32) -> Vec<f32> {
        let mut packed = vec![0.0; dims.packed_len()];
        pack_weights(dims, torch, &mut packed);
        let mut out = vec![0.0; images.len() / (SIDE * SIDE) * dims.outputs];
        encode_images(dims, &packed, images, threads, &mut out);
        out
    }

    #[test]
    fn matches_the_definition() {
        for dims in [
            Dims {
                in_planes: 1,
                channels: 8,
                hidden: 20,
                outputs: 12,
            },
            Dims {
                in_planes: 3,
                channels: 16,
                hidden: 33,
                outputs: 18,
            },
        ] {
            let torch = network(dims, 1);
            let images = images(3, 2);
            let got = run(dims, &torch, &images, 1);
            for (k, image) in images.chunks_exact(SIDE * SIDE).enumerate() {
                let want = reference(dims, &torch, image);
                for (j, w) in want.iter().enumerate() {
                    let g = got[k * dims.outputs + j] as f64;
                    assert!(
                        (g - w).abs() < 1e-4 * w.abs().max(1.0),
                        "{dims:?} image {k} output {j}: {g} against {w}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_portable_code_gives_the_same_numbers_to_rounding() {
        let dims = Dims {
            in_planes: 3,
            channels: 8,
            hidden: 24,
            outputs: 12,
        };
        let mut packed = vec![0.0; dims.packed_len()];
        pack_weights(dims, &network(dims, 5), &mut packed);
        let images = images(7, 6);
        let mut results = Vec::new();
        for fused in [true, false] {
            let net = Network {
                fused,
                ..Network::new(dims, &packed)
            };
            let mut out = vec![0.0; 7 * dims.outputs];
            encode_run(&net, &images, &mut out);
            results.push(out);
        }
        for (a, b) in results[0].iter().zip(&results[1]) {
            assert!((a - b).abs() <= 1e-5 * a.abs().max(1.0), "{a} against {b}");
        }
    }

    #[test]
    fn an_image_does_not_depend_on_its_batch_or_the_threads() {
        let dims = Dims {
            in_planes: 1,
            channels: 8,
            hidden: 16,
            outputs: 6,
        };
        let torch = network(dims, 3);
        let images = images(CHUNK + 40, 4);
        let all = run(dims, &torch, &images, 3);
        assert_eq!(all, run(dims, &torch, &images, 1));
        let last = &images[(CHUNK + 39) * SIDE * SIDE..];
        assert_eq!(&all[(CHUNK + 39) * 6..], &run(dims, &torch, last, 1)[..]);
    }

    #[test]
    fn sizes() {
        let dims = Dims {
            in_planes: 1,
            channels: 16,
            hidden: 512,
            outputs: 96,
        };
        assert!(dims.valid());
        let weights = 16 * 9 + 16 * 3 + 32 * 16 * 9 + 32 * 3 + 64 * 32 * 9 + 64 * 3 + 512 * 3137 + 96 * 513;
        assert_eq!(dims.torch_len(), weights);
        assert!(!Dims { channels: 12, ..dims }.valid());
        assert!(!Dims { in_planes: 2, ..dims }.valid());
        assert!(!Dims { outputs: 0, ..dims }.valid());
        assert_eq!(thread_count(4, 1), 1);
        assert_eq!(thread_count(4, 1000), 4);
        assert_eq!(thread_count(u32::MAX, usize::MAX), MAX_THREADS);
    }
}
