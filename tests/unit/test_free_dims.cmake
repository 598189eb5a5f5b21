# test_free_dims counts allocations during runs (no allocation while the input shapes stay the
# same): the allocator entry points are wrapped at link time.
target_link_options(${_name} PRIVATE -Wl,--wrap=malloc -Wl,--wrap=calloc -Wl,--wrap=realloc
                    -Wl,--wrap=aligned_alloc)
