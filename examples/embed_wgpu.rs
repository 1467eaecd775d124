//! Embedding in an app that already owns a wgpu device: the photo goes in as a texture and the
//! cut-out comes out as a texture, with no CPU readback in between. (At the end this example
//! reads the result back once, only so you can look at it.)
//! Run: `cargo run --release --example embed_wgpu -- examples/photos/grace_hopper.jpg out.png`
use silhouette::Background;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (input, output) = (
        args.next().ok_or("usage: embed_wgpu IN OUT.png")?,
        args.next().ok_or("usage: embed_wgpu IN OUT.png")?,
    );
    let photo = silhouette::imageio::load_image(input.as_ref())?.to_rgba8();
    let (w, h) = photo.dimensions();

    // The app's own device (here made the usual way).
    let instance =
        wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    let adapter = pollster::block_on(instance.request_adapter(&Default::default()))?;
    let (device, queue) = pollster::block_on(adapter.request_device(&Default::default()))?;

    // The app's textures: the camera frame or photo in, the composited frame out.
    let texture = |usage| {
        device.create_texture(&wgpu::TextureDescriptor {
            label: None,
            size: wgpu::Extent3d {
                width: w,
                height: h,
                depth_or_array_layers: 1,
            },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: wgpu::TextureFormat::Rgba8Unorm,
            usage,
            view_formats: &[],
        })
    };
    let frame_in = texture(wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST);
    let frame_out = texture(
        wgpu::TextureUsages::STORAGE_BINDING
            | wgpu::TextureUsages::COPY_SRC
            | wgpu::TextureUsages::TEXTURE_BINDING,
    );
    let layout = wgpu::TexelCopyBufferLayout {
        offset: 0,
        bytes_per_row: Some(w * 4),
        rows_per_image: None,
    };
    queue.write_texture(
        frame_in.as_image_copy(),
        photo.as_raw(),
        layout,
        frame_in.size(),
    );

    // silhouette on that device: one submit per frame, results stay on the GPU.
    let segmenter = silhouette::Segmenter::with_device(device.clone(), queue.clone())?;
    let (view_in, view_out) = (
        frame_in.create_view(&Default::default()),
        frame_out.create_view(&Default::default()),
    );
    segmenter.composite_texture(
        &view_in,
        &view_out,
        (w, h),
        &Background::Color([46, 125, 50]),
        silhouette::TextureOptions::default(), // refined edges; see its fields for video
    )?;
    // ... the app would now sample `frame_out` in its own render pass.

    // Only for this example: read the texture back and save it.
    let row = (w * 4).next_multiple_of(wgpu::COPY_BYTES_PER_ROW_ALIGNMENT);
    let staging = device.create_buffer(&wgpu::BufferDescriptor {
        label: None,
        size: u64::from(row * h),
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let mut encoder = device.create_command_encoder(&Default::default());
    let target = wgpu::TexelCopyBufferInfo {
        buffer: &staging,
        layout: wgpu::TexelCopyBufferLayout {
            bytes_per_row: Some(row),
            ..layout
        },
    };
    encoder.copy_texture_to_buffer(frame_out.as_image_copy(), target, frame_out.size());
    queue.submit([encoder.finish()]);
    staging
        .slice(..)
        .map_async(wgpu::MapMode::Read, |r| r.expect("map"));
    device.poll(wgpu::PollType::wait_indefinitely())?;
    let padded = staging.slice(..).get_mapped_range()?.to_vec();
    let pixels: Vec<u8> = padded
        .chunks(row as usize)
        .flat_map(|r| r[..(w * 4) as usize].to_vec())
        .collect();
    image::RgbaImage::from_raw(w, h, pixels)
        .ok_or("size")?
        .save(&output)?;
    println!("wrote {output}");
    Ok(())
}
