//! The `calico-ipam` CNI IPAM plugin: see `reflex_cni::ipam`.

fn main() -> std::process::ExitCode {
    reflex_cni::plugin::main_of(reflex_cni::plugin::Binary::CalicoIpam)
}
