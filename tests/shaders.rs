//! Every kernel in shaders/ parses and validates with naga, and translates to SPIR-V, MSL, HLSL and
//! GLSL: proof that the same WGSL runs on Vulkan, Metal, DX12 and GL. Each kernel is checked as the
//! engine compiles it (shaders/common.wgsl prepended).

use naga::back::{glsl, hlsl, msl, spv};
use naga::valid::{Capabilities, ValidationFlags, Validator};

fn kernels() -> Vec<(String, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wgsl"))
        .filter(|p| p.file_stem().unwrap() != "common")
        .map(|p| {
            let stem = p.file_stem().unwrap().to_string_lossy().into_owned();
            let source = silhouette::ops::kernel_source(&stem, silhouette::Precision::F32)
                .unwrap_or_else(|| panic!("{stem}: kernel registered in the engine"));
            // The engine compiles the file's code without comments and with fewer spaces
            // (build.rs): the same once comments and whitespace are gone from both.
            let bare = |s: &str| -> String { s.chars().filter(|c| !c.is_whitespace()).collect() };
            let code: String = std::fs::read_to_string(&p)
                .unwrap()
                .lines()
                .map(|l| bare(l.split("//").next().unwrap()))
                .collect();
            assert!(
                bare(&source).ends_with(&code),
                "{stem}: engine source differs from file"
            );
            (stem, source)
        })
        .collect();
    out.sort();
    assert_eq!(
        out.len(),
        silhouette::ops::KERNEL_COUNT,
        "every shader the engine compiles is checked"
    );
    out
}

/// WGSL's select() evaluates both sides: a store inside one writes whatever the condition (a
/// 1x1 once wrote a zero accumulator into the next column tile that way, which lavapipe's
/// in-order workgroups hid and Chromium's did not).
#[test]
fn no_store_inside_a_select() {
    for (name, source) in kernels() {
        for (at, _) in source.match_indices("select(") {
            let mut depth = 0;
            let args: String = source[at + "select".len()..]
                .chars()
                .take_while(|&c| {
                    depth += match c {
                        '(' => 1,
                        ')' => -1,
                        _ => 0,
                    };
                    depth > 0
                })
                .collect();
            assert!(!args.contains("store"), "{name}: select{args})");
        }
    }
}

/// WGSL needs parentheses where a comparison meets `&` or `|` (`a >= b & c`): naga takes it, the
/// browsers' compiler (Tint) refuses the whole module (a conv2d did once, caught only by the
/// browser race). Checked per parenthesised group, with type brackets (`vec4<i32>`) left out.
#[test]
fn comparisons_beside_bitwise_operators_are_parenthesised() {
    for (name, source) in kernels() {
        let code = without_type_brackets(&source)
            .replace("&&", " ")
            .replace("||", " ")
            .replace("->", " ")
            .replace("<<", " ")
            .replace(">>", " ");
        let mut groups = vec![String::new()];
        for c in code.chars() {
            match c {
                '(' => groups.push(String::new()),
                ')' | ';' | ',' | '{' | '}' => {
                    let group = match c {
                        ')' => groups.pop().unwrap_or_default(),
                        _ => std::mem::take(groups.last_mut().expect("a group")),
                    };
                    let bitwise = group.contains('&') || group.contains('|');
                    let compares = ['<', '>'].iter().any(|&op| group.contains(op))
                        || ["==", "!="].iter().any(|op| group.contains(op));
                    assert!(!(bitwise && compares), "{name}: ({group})");
                    if groups.is_empty() {
                        groups.push(String::new());
                    }
                }
                c => groups.last_mut().expect("a group").push(c),
            }
        }
    }
}

/// `source` with every type's angle brackets dropped (`vec4<i32>(x)` -> `vec4(x)`), so `<` and
/// `>` are left as comparisons only.
fn without_type_brackets(source: &str) -> String {
    let mut out = String::new();
    let mut depth = 0;
    for (i, c) in source.char_indices() {
        let opens_type = c == '<'
            && ["vec2", "vec3", "vec4", "array", "ptr", "atomic", "mat4x4"]
                .iter()
                .any(|t| source[..i].ends_with(t));
        match c {
            '<' if opens_type || depth > 0 => depth += 1,
            '>' if depth > 0 => depth -= 1,
            _ if depth > 0 => {}
            c => out.push(c),
        }
    }
    out
}

/// The module with its pipeline-overridable constants at their defaults, as a pipeline gets it
/// (the engine sets them per dispatch; every `override` has a default).
fn with_default_constants<'a>(
    name: &str,
    module: &'a naga::Module,
    info: &'a naga::valid::ModuleInfo,
) -> (
    std::borrow::Cow<'a, naga::Module>,
    std::borrow::Cow<'a, naga::valid::ModuleInfo>,
) {
    naga::back::pipeline_constants::process_overrides(module, info, None, &Default::default())
        .unwrap_or_else(|e| panic!("{name}: constants: {e}"))
}

/// The language versions a variant needs on SPIR-V, Metal and DX12.
struct Translation {
    spv_version: (u8, u8),
    msl_version: (u8, u8),
    shader_model: hlsl::ShaderModel,
}

impl Translation {
    /// `module` (constants at their defaults) to SPIR-V, MSL and HLSL, or a panic naming `what`.
    fn translate(&self, what: &str, module: &naga::Module, info: &naga::valid::ModuleInfo) {
        let spv_options = spv::Options {
            lang_version: self.spv_version,
            ..Default::default()
        };
        spv::write_vec(module, info, &spv_options, None)
            .unwrap_or_else(|e| panic!("{what} -> SPIR-V: {e}"));
        let entry = Some((naga::ShaderStage::Compute, "main".to_string()));
        let msl_options = msl::Options {
            lang_version: self.msl_version,
            ..Default::default()
        };
        let msl_pipeline = msl::PipelineOptions {
            entry_point: entry.clone(),
            ..Default::default()
        };
        msl::write_string(module, info, &msl_options, &msl_pipeline)
            .unwrap_or_else(|e| panic!("{what} -> MSL: {e}"));
        let options = hlsl::Options {
            shader_model: self.shader_model,
            ..Default::default()
        };
        let pipeline = hlsl::PipelineOptions { entry_point: entry };
        hlsl::Writer::new(&mut String::new(), &options, &pipeline)
            .write(module, info, None)
            .unwrap_or_else(|e| panic!("{what} -> HLSL: {e}"));
    }
}

/// The f16-storage variants: valid WGSL with `enable f16`, and translatable where wgpu offers
/// SHADER_F16 (Vulkan, Metal, DX12 with shader model 6.2; wgpu's GL backend never offers it).
#[test]
fn every_f16_kernel_validates_and_translates() {
    for (name, _) in kernels() {
        let source = silhouette::ops::kernel_source(&name, silhouette::Precision::F16).unwrap();
        let module = naga::front::wgsl::parse_str(&source)
            .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(&source)));
        let info = Validator::new(ValidationFlags::all(), Capabilities::SHADER_FLOAT16)
            .validate(&module)
            .unwrap_or_else(|e| panic!("{name} f16: {}", e.emit_to_string(&source)));
        let (module, info) = with_default_constants(&name, &module, &info);
        let what = format!("{name} f16");
        let target = Translation {
            spv_version: (1, 0),
            msl_version: (2, 1),
            shader_model: hlsl::ShaderModel::V6_2,
        };
        target.translate(&what, &module, &info);
    }
}

#[test]
fn every_kernel_validates_and_translates_to_every_backend() {
    for (name, source) in kernels() {
        let module = naga::front::wgsl::parse_str(&source)
            .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(&source)));
        let info = Validator::new(ValidationFlags::all(), Capabilities::empty())
            .validate(&module)
            .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(&source)));
        let (module, info) = with_default_constants(&name, &module, &info);

        let words = spv::write_vec(&module, &info, &spv::Options::default(), None)
            .unwrap_or_else(|e| panic!("{name} -> SPIR-V: {e}"));
        assert_eq!(words[0], 0x0723_0203, "{name}: SPIR-V magic");

        let entry = Some((naga::ShaderStage::Compute, "main".to_string()));
        let (metal, _) = msl::write_string(
            &module,
            &info,
            &msl::Options::default(),
            &msl::PipelineOptions {
                entry_point: entry.clone(),
                ..Default::default()
            },
        )
        .unwrap_or_else(|e| panic!("{name} -> MSL: {e}"));
        assert!(metal.contains("kernel void"), "{name}: MSL has no kernel");

        let mut hlsl_out = String::new();
        let hlsl_options = hlsl::Options::default();
        let hlsl_pipeline = hlsl::PipelineOptions {
            entry_point: entry.clone(),
        };
        hlsl::Writer::new(&mut hlsl_out, &hlsl_options, &hlsl_pipeline)
            .write(&module, &info, None)
            .unwrap_or_else(|e| panic!("{name} -> HLSL: {e}"));
        assert!(
            hlsl_out.contains("[numthreads("),
            "{name}: HLSL has no compute entry"
        );

        let mut glsl_out = String::new();
        let glsl_options = glsl::Options {
            version: glsl::Version::Desktop(430),
            ..Default::default()
        };
        let glsl_pipeline = glsl::PipelineOptions {
            shader_stage: naga::ShaderStage::Compute,
            entry_point: "main".into(),
            multiview: None,
        };
        glsl::Writer::new(
            &mut glsl_out,
            &module,
            &info,
            &glsl_options,
            &glsl_pipeline,
            Default::default(),
        )
        .and_then(|mut w| w.write())
        .unwrap_or_else(|e| panic!("{name} -> GLSL: {e}"));
        assert!(
            glsl_out.contains("layout(local_size_x"),
            "{name}: GLSL has no compute layout"
        );
        println!(
            "{name}: WGSL ok, SPIR-V {} words, MSL {} B, HLSL {} B, GLSL {} B",
            words.len(),
            metal.len(),
            hlsl_out.len(),
            glsl_out.len()
        );
    }
}
