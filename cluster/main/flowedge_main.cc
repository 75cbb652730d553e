// flowedge: one node of the edge cluster. Placeholder until the runtime lands.
#include <cstdio>
#include <cstring>

int main(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
            std::printf("usage: flowedge [--listen PROTO:HOST:PORT]...\n");
            return 0;
        }
    }
    std::fprintf(stderr, "flowedge: the node runtime is not built yet\n");
    return 1;
}
