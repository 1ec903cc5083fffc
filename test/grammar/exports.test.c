// SYNTAX TEST "source.c" "kexports: export macros"

EXPORT_SYMBOL_GPL(hmm_range_fault);
// <----------------- keyword.other.export.gpl.kexports
//                ^^^^^^^^^^^^^^^ entity.name.function.exported.kexports

EXPORT_SYMBOL(hmm_range_fault);
// <------------- keyword.other.export.any.kexports
// ^^^^^^^^^^ - keyword.other.export.gpl.kexports
//            ^^^^^^^^^^^^^^^ entity.name.function.exported.kexports

EXPORT_SYMBOL_NS_GPL(cxl_port_probe, CXL);
// <-------------------- keyword.other.export.gpl.kexports
//                                   ^^^ entity.name.namespace.kexports

EXPORT_SYMBOL_NS(dma_buf_export, "DMA_BUF");
// <---------------- keyword.other.export.any.kexports
//                                ^^^^^^^ entity.name.namespace.kexports

EXPORT_TRACEPOINT_SYMBOL_GPL(hmm_fault_done);
// <---------------------------- keyword.other.export.gpl.kexports

EXPORT_PER_CPU_SYMBOL(current_task);
// <--------------------- keyword.other.export.any.kexports

MODULE_IMPORT_NS(CXL);
// <---------------- keyword.other.import-ns.kexports
//               ^^^ entity.name.namespace.kexports

/* EXPORT_SYMBOL(in_a_comment); */
// ^^^^^^^^^^^^^ - keyword.other.export.any.kexports

const char *s = "EXPORT_SYMBOL_GPL(in_a_string)";
//               ^^^^^^^^^^^^^^^^^ - keyword.other.export.gpl.kexports

int not_an_export = MY_EXPORT_SYMBOL_GPL_COUNT;
//                     ^^^^^^^^^^^^^^^^^ - keyword.other.export.gpl.kexports
