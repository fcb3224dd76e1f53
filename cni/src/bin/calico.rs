//! The `calico` CNI plugin: see the `reflex_cni` crate documentation.

fn main() -> std::process::ExitCode {
    reflex_cni::plugin::main_of(reflex_cni::plugin::Binary::Calico)
}
