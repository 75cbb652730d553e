// Placeholder translation unit until cluster/ holds the node.
namespace fe::cluster {
int placeholder_for_build() { return 0; }
}  // namespace fe::cluster
