//! Embeds lab/twin (the stand-ins copied into every twin host, the base
//! image recipe, the supervisor) into the binary: `twin_files.rs` in OUT_DIR
//! lists each file under twin/root with its bytes and mode.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .expect("lab/twin/root is readable")
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for path in entries {
        let meta = fs::symlink_metadata(&path).expect("metadata");
        if meta.is_dir() {
            walk(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest.join("twin/root");
    println!("cargo:rerun-if-changed=twin");
    let mut files = Vec::new();
    walk(&root, &mut files);
    let mut code = String::from(
        "/// (path in the host, contents or symlink target, mode; 0 = symlink)\npub const TWIN_FILES: &[(&str, &[u8], u32)] = &[\n",
    );
    for file in files {
        let inside = file.strip_prefix(&root).unwrap();
        let meta = fs::symlink_metadata(&file).unwrap();
        if meta.file_type().is_symlink() {
            let target = fs::read_link(&file).unwrap();
            code.push_str(&format!(
                "    ({:?}, {:?}.as_bytes(), 0),\n",
                format!("/{}", inside.display()),
                target.display().to_string()
            ));
        } else {
            code.push_str(&format!(
                "    ({:?}, include_bytes!({:?}), 0o{:o}),\n",
                format!("/{}", inside.display()),
                file.display().to_string(),
                meta.permissions().mode() & 0o7777
            ));
        }
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("twin_files.rs");
    fs::write(out, code).unwrap();
}
