// flowedge: one node of the edge cluster.
#include <cstdio>

#include "cluster/config.h"

int main(int argc, char** argv) {
    auto config = fe::cluster::parse_args(argc, argv);
    if (!config.ok()) {
        std::fprintf(stderr, "%s\n", std::string(config.status().message()).c_str());
        return 2;
    }
    if (config->help) {
        std::fputs(fe::cluster::usage(), stdout);
        return 0;
    }
    std::fprintf(stderr, "flowedge: the node runtime is not built yet\n");
    return 1;
}
