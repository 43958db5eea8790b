//! `ndarray` arrays as [`NumericBuffer`]s (feature `ndarray`): arrays of the
//! primitive numbers in any layout. A standard-layout (C order, contiguous)
//! array is hashed in place; a strided view (transposed, sliced with steps)
//! is read element by element in logical order, so equal arrays get equal
//! ids whatever their memory layout, and sampling stays constant time.

use std::ops::Range;

use ndarray::{ArrayBase, Data, Dimension};

use super::strategy::{NumericBuffer, NumericElement};

impl<S, D, T> NumericBuffer for ArrayBase<S, D>
where
    S: Data<Elem = T>,
    D: Dimension,
    T: NumericElement,
{
    fn contiguous(&self) -> Option<&[u8]> {
        let s = self.as_slice()?;
        // SAFETY: `T` is a primitive number (no padding, every bit pattern a
        // valid u8); the length is the slice's size in bytes.
        Some(unsafe { std::slice::from_raw_parts(s.as_ptr().cast::<u8>(), std::mem::size_of_val(s)) })
    }

    fn byte_len(&self) -> usize {
        self.len() * std::mem::size_of::<T>()
    }

    fn copy_bytes(&self, range: Range<usize>, out: &mut Vec<u8>) {
        let size = std::mem::size_of::<T>();
        let (first, last) = (range.start / size, range.end.div_ceil(size));
        let shape = self.shape();
        let dyn_view = self.view().into_dyn();
        let mut index = vec![0usize; shape.len()];
        let mut bytes = Vec::with_capacity((last - first) * size);
        for k in first..last {
            // Row-major (logical) position of the k-th element.
            let mut rest = k;
            for (slot, &dim) in index.iter_mut().zip(shape).rev() {
                *slot = rest % dim;
                rest /= dim;
            }
            dyn_view[index.as_slice()].push_bytes(&mut bytes);
        }
        let skip = range.start - first * size;
        out.extend_from_slice(&bytes[skip..skip + range.len()]);
    }

    fn element_type(&self) -> &'static str {
        T::NAME
    }

    fn shape(&self) -> Vec<usize> {
        self.shape().to_vec()
    }
}

#[cfg(test)]
mod tests {
    use ndarray::{s, Array2};

    use crate::hash::{exact_hash, sampled_hash, NumericBuffer};

    #[test]
    fn layouts_hash_by_logical_content() {
        let a = Array2::from_shape_fn((300, 200), |(i, j)| (i * 1000 + j) as f64);
        let t = a.t().to_owned(); // standard layout of the transpose
        let view = a.t(); // the same values, strided
        assert!(view.contiguous().is_none());
        assert_eq!(exact_hash(&view), exact_hash(&t));
        assert_eq!(sampled_hash(&view), sampled_hash(&t));
        assert_eq!(view.as_bytes(), t.as_bytes());
        // Shape is part of the sampled id: the same bytes as a flat Vec differ.
        let flat: Vec<f64> = a.iter().copied().collect();
        assert_eq!(exact_hash(&a), exact_hash(&flat));
        assert_ne!(sampled_hash(&a), sampled_hash(&flat));
    }

    #[test]
    fn sampled_sees_a_change_in_the_middle_of_a_strided_view() {
        let mut a = Array2::from_shape_fn((2000, 600), |(i, j)| (i + j) as f32);
        let before = sampled_hash(&a.slice(s![.., ..;2]));
        a[[1000, 300]] += 1.0;
        assert_ne!(sampled_hash(&a.slice(s![.., ..;2])), before);
    }

    #[test]
    fn partial_ranges_match_the_contiguous_bytes() {
        let a = Array2::from_shape_fn((7, 5), |(i, j)| (i * 5 + j) as u32);
        let view = a.t();
        let all = view.as_bytes().into_owned();
        for range in [0..1, 3..9, 17..40, 0..all.len()] {
            let mut part = Vec::new();
            view.copy_bytes(range.clone(), &mut part);
            assert_eq!(part, all[range]);
        }
    }
}
