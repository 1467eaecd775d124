//! A host tensor: one image's activations in NHWC order (batch 1), f32.

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Shape {
    pub height: usize,
    pub width: usize,
    pub channels: usize,
}

impl Shape {
    pub const fn new(height: usize, width: usize, channels: usize) -> Self {
        Shape {
            height,
            width,
            channels,
        }
    }
    pub const fn len(&self) -> usize {
        self.height * self.width * self.channels
    }
    pub const fn pixels(&self) -> usize {
        self.height * self.width
    }
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl std::fmt::Display for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}x{}x{}", self.height, self.width, self.channels)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    pub shape: Shape,
    pub data: Vec<f32>,
}

impl Tensor {
    pub fn zeros(shape: Shape) -> Self {
        Tensor {
            shape,
            data: vec![0.0; shape.len()],
        }
    }
    pub fn from_vec(shape: Shape, data: Vec<f32>) -> Self {
        assert_eq!(
            shape.len(),
            data.len(),
            "tensor data does not match {shape}"
        );
        Tensor { shape, data }
    }
    #[inline]
    pub fn at(&self, y: usize, x: usize, c: usize) -> f32 {
        self.data[(y * self.shape.width + x) * self.shape.channels + c]
    }
    #[inline]
    pub fn at_mut(&mut self, y: usize, x: usize, c: usize) -> &mut f32 {
        let i = (y * self.shape.width + x) * self.shape.channels + c;
        &mut self.data[i]
    }
}
